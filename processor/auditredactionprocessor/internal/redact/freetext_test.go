package redact

import (
	"strings"
	"testing"
	"time"
)

// freeTextCase is a free-text input and what it becomes.
type freeTextCase struct{ in, want string }

// runFreeText checks each case, and that a second pass changes nothing.
func runFreeText(t *testing.T, r *Redactor, tests []freeTextCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, _, _ := redactString(r, tt.in, false)
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			if again, n, _ := redactString(r, got, false); again != got || n != 0 {
				t.Errorf("second pass changed %q to %q (%d)", got, again, n)
			}
		})
	}
}

func TestXMLElementsInText(t *testing.T) {
	r := newTestRedactor(t)
	runFreeText(t, r, []freeTextCase{
		{`<password>{"a":"b","n":1}</password>`, `<password>{"a":"***REDACTED***","n":"***REDACTED***"}</password>`},
		{"<secret><!-- s3 --></secret>", "<secret><!-- ***REDACTED*** --></secret>"},
		{"<token><![CDATA[abc", "<token><![CDATA[***REDACTED***"},
		{`<meta name="csrf-token" content="abc123">`, `<meta name="csrf-token" content="***REDACTED***">`},
		{`<entry key='api_key' value='k1'/>`, `<entry key='api_key' value='***REDACTED***'/>`},
		{"<PASSWORD>x</password> after", "<PASSWORD>***REDACTED***</password> after"},
		{"<password>a < b</password>", "<password>***REDACTED***</password>"},
		{"<secret><password>x</password><n>1</n></secret>", "<secret><password>***REDACTED***</password><n>***REDACTED***</n></secret>"},
		{`<credentials><item value="v1"/></credentials>`, `<credentials><item value="***REDACTED***"/></credentials>`},
		{"<email>Bob@Example.com</email>", "<email>" + r.Pseudonym("bob@example.com") + "</email>"},
		// Look-alikes.
		{"if a < b and c > d then password", "if a < b and c > d then password"},
		{"<password_policy>min 8</password_policy><token_count>5</token_count>", "<password_policy>min 8</password_policy><token_count>5</token_count>"},
		{`<div id="password-help">Your password must be long</div>`, `<div id="password-help">Your password must be long</div>`},
		{`<input type="password" name="pw">`, `<input type="password" name="pw">`},
		{"<a href=\"x\">token</a> <b>secret</b>", "<a href=\"x\">token</a> <b>secret</b>"},
		// XML allows no '<' in an attribute value: this reads as an
		// element named password, whose content is masked.
		{`<x a="<password>">y`, `<x a="<password>***REDACTED***`},
	})
}

func TestProgramPasswordsInText(t *testing.T) {
	r := newTestRedactor(t)
	runFreeText(t, r, []freeTextCase{
		{`docker exec db mysql -uroot -pS3cret -e "select 1; select 2"`, `docker exec db mysql -uroot -p***REDACTED*** -e "select 1; select 2"`},
		{`bash -c "mysqldump -pS3cret db > x.sql"`, `bash -c "mysqldump -p***REDACTED*** db > x.sql"`},
		{`run [\"mysql\",\"-pS3cret\"]`, `run [\"mysql\",\"-p***REDACTED***\"]`},
		{"mysql -u root -p'S3c ret' db", "mysql -u root -p'***REDACTED***' db"},
		{`C:\mysql\bin\mysql.exe -pS3cret`, `C:\mysql\bin\mysql.exe -p***REDACTED***`},
		{"mysqladmin -pS3cret status; ssh -p2222 h", "mysqladmin -p***REDACTED*** status; ssh -p2222 h"},
		{"mysql -h db\nssh -p2222 h", "mysql -h db\nssh -p2222 h"},
		{"sshpass -p S3cret ssh -p 22 host", "sshpass -p ***REDACTED*** ssh -p 22 host"},
		{"mariadb --password=S3cret -pS3cret2", "mariadb --password=***REDACTED*** -p***REDACTED***"},
		// A quote left open ends its command with its line: the next
		// line's command is read as one.
		{"mysql \"\nsshpass -p S3cret ssh h", "mysql \"\nsshpass -p ***REDACTED*** ssh h"},
		{"mysql -p'x\nredis-cli -a S3cret", "mysql -p'***REDACTED***\nredis-cli -a ***REDACTED***"},
		// Look-alikes: a prompt, a database named after -p, ports, other
		// programs, a word that only starts like one.
		{"mysql -p 3306", "mysql -p 3306"},
		{"the mysql -p flag prompts", "the mysql -p flag prompts"},
		{"gcc -pthread x.c; mysql_config -pthread", "gcc -pthread x.c; mysql_config -pthread"},
		{"mysql-workbench -pX; nomysql -pX", "mysql-workbench -pX; nomysql -pX"},
		{"MySQL is down -pX", "MySQL is down -pX"},
	})
}

func TestProgramPasswordsInArgv(t *testing.T) {
	r := newTestRedactor(t)
	for _, tt := range []freeTextCase{
		{`{"cmd":["/usr/bin/mysqldump","-h","db","-pS3cret","--all-databases"]}`, `{"cmd":["/usr/bin/mysqldump","-h","db","***REDACTED***","--all-databases"]}`},
		{`["sshpass","-pS3cret","ssh","-p2222","h"]`, `["sshpass","***REDACTED***","ssh","-p2222","h"]`},
		{`["sshpass","-p","S3cret","ssh","-p","22","h"]`, `["sshpass","-p","***REDACTED***","ssh","-p","22","h"]`},
		{`["mysql","-p","db"]`, `["mysql","-p","db"]`},
		{`["ssh","-p2222","h"]`, `["ssh","-p2222","h"]`},
		{`["sudo","mysql","-pS3cret"]`, `["sudo","mysql","***REDACTED***"]`},
		{`["echo","a","-pX",""]`, `["echo","a","-pX",""]`},
		{`["docker","login","-u","bob","-p","S3cret","r.io"]`, `["docker","login","-u","bob","-p","***REDACTED***","r.io"]`},
		{`["docker","run","-p","8080:80","nginx"]`, `["docker","run","-p","8080:80","nginx"]`},
		{`["docker","exec","db","mysql","-pS3cret"]`, `["docker","exec","db","mysql","***REDACTED***"]`},
		{`["redis-cli","-a","S3cret","ping"]`, `["redis-cli","-a","***REDACTED***","ping"]`},
		{`["sqlplus","-s","scott/S3cret@db"]`, `["sqlplus","-s","***REDACTED***"]`},
		{`["sqlplus","/nolog"]`, `["sqlplus","/nolog"]`},
		{`["openssl","pkcs12","-passin","pass:S3cret","-passout","env:X"]`, `["openssl","pkcs12","-passin","***REDACTED***","-passout","env:X"]`},
		{`["htpasswd","-bc","f","bob","S3cret"]`, `["htpasswd","-bc","f","bob","***REDACTED***"]`},
		{`["mongosh","-p","--eval","x"]`, `["mongosh","-p","--eval","x"]`},
		{`["keytool","-storepass","S3cret"]`, `["keytool","-storepass","***REDACTED***"]`},
		{`["htpasswd","-cb","f","bob","S3cret"]`, `["htpasswd","-cb","f","bob","***REDACTED***"]`},
		// The command and its arguments in members of their own (MCP
		// server configurations, tool calls).
		{`{"command":"redis-cli","args":["-a","S3cret","ping"]}`, `{"command":"redis-cli","args":["-a","***REDACTED***","ping"]}`},
		{`{"mcpServers":{"r":{"command":"docker","args":["login","-u","bob","-p","S3cret"],"env":{}}}}`, `{"mcpServers":{"r":{"command":"docker","args":["login","-u","bob","-p","***REDACTED***"],"env":{}}}}`},
		{`{"program":"/opt/mssql-tools18/bin/sqlcmd","arguments":["-S","db","-P","S3cret"]}`, `{"program":"/opt/mssql-tools18/bin/sqlcmd","arguments":["-S","db","-P","***REDACTED***"]}`},
		{`{"command":"npx","args":["-y","@modelcontextprotocol/server-postgres","-p","5432"]}`, `{"command":"npx","args":["-y","@modelcontextprotocol/server-postgres","-p","5432"]}`},
		{`{"cmd":"docker","args":["run","-p","8080:80","nginx"],"more":[["-p","x"]]}`, `{"cmd":"docker","args":["run","-p","8080:80","nginx"],"more":[["-p","x"]]}`},
	} {
		got, _, _ := redactString(r, tt.in, true)
		if got != tt.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

func TestTypographicQuotesInText(t *testing.T) {
	r := newTestRedactor(t)
	runFreeText(t, r, []freeTextCase{
		{"run --password “a b” -v", "run --password “***REDACTED***” -v"},
		{"password=“unclosed value\nnext: 1", "password=“***REDACTED***\nnext: 1"},
		{"‘token’: ‘x y’, n: 1", "‘token’: ‘***REDACTED***’, n: 1"},
		{"secret: 「值 值」 ok", "secret: 「***REDACTED***」 ok"},
		{"api_key = ‚a b‘", "api_key = ‚***REDACTED***‘"},
		{"password: »x y« und", "password: »***REDACTED***« und"},
		// Look-alikes.
		{"it’s: fine, “hello”: “world”", "it’s: fine, “hello”: “world”"},
		{"the “password” field is required", "the “password” field is required"},
	})
}

func TestYAMLBlockScalarsInText(t *testing.T) {
	r := newTestRedactor(t)
	runFreeText(t, r, []freeTextCase{
		{"password: |2 # note\r\n   a\r\n   b\r\nn: 1", "password: |2 # note\r\n   ***REDACTED***\r\nn: 1"},
		{"spec:\n  - name: db\n    token: >\n      x\n      y\n    port: 1", "spec:\n  - name: db\n    token: >\n      ***REDACTED***\n    port: 1"},
		{"secret: |\n  to the end\n  of the string", "secret: |\n  ***REDACTED***"},
		{"\"client_secret\": |-\n  s\n\n\nnext: x", "\"client_secret\": |-\n  ***REDACTED***\n\n\nnext: x"},
		{"dob: >\n  1980-01-02\n", "dob: >\n  " + r.Pseudonym("1980-01-02") + "\n"},
		// Not a block: the indicator is not alone on its line, or nothing
		// is indented under it.
		{"password: | grep x", "password: ***REDACTED*** grep x"},
		{"password: |\nuser: bob", "password: ***REDACTED***\nuser: bob"},
		{"note: |\n  password is rotated\nscript: >\n  echo hi", "note: |\n  password is rotated\nscript: >\n  echo hi"},
	})
}

func TestEncodedKeysInText(t *testing.T) {
	r := newTestRedactor(t)
	runFreeText(t, r, []freeTextCase{
		{"POST /login body=user%5Bpassword%5D=hunter2&user%5Bname%5D=bob", "POST /login body=user%5Bpassword%5D=***REDACTED***&user%5Bname%5D=bob"},
		{"a[b][api_key]=k1&ids[]=1", "a[b][api_key]=***REDACTED***&ids[]=1"},
		{"api_keys[]=k1&api_keys[]=k2", "api_keys[]=***REDACTED***&api_keys[]=***REDACTED***"},
		{"api%5Fkey=k1 pass%77ord=x", "api%5Fkey=***REDACTED*** pass%77ord=***REDACTED***"},
		{"cb?state=%26address%3D1%20Main%20St%26n%3D1", "cb?state=%26address%3D" + r.Pseudonym("1%20Main%20St") + "%26n%3D1"},
		{"r=%2Fx%3Fclient_secret%3ds%26y%3D1", "r=%2Fx%3Fclient_secret%3d***REDACTED***%26y%3D1"},
		// Look-alikes.
		{"items[0]=5&q=%3Dx&discount=10%25&a%5Bmax_tokens%5D=5", "items[0]=5&q=%3Dx&discount=10%25&a%5Bmax_tokens%5D=5"},
		{"100%3D sure, 50%", "100%3D sure, 50%"},
	})
}

// TestFreeTextFormsLinear pushes 10 MB of text made to make the rules for
// XML, programs' passwords, typographic quotes, YAML block scalars and
// encoded keys read far ahead or back, and checks that each takes a
// bounded multiple of the time plain text of the same size takes: a rule
// that read quadratically would take hours.
func TestFreeTextFormsLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("10 MB inputs")
	}
	r := newTestRedactor(t, WithMaxValueBytes(16<<20))
	const size = 10 << 20
	fill := func(unit string) string { return strings.Repeat(unit, size/len(unit)) }
	start := time.Now()
	redactString(r, fill("plain words, 12:30, a=b; "), false)
	base := time.Since(start)
	t.Logf("plain text: %v", base)
	for _, in := range []string{
		fill(`<a x="`),
		fill("<x><"),
		fill(`<entry key="password"/>`),
		fill("<p>x</p><br>"),
		"<password>" + fill("</passwor"),
		fill("<password>[1,"),
		fill("<token></tokens"),
		// Elements never closed, each looking for its closing tag.
		fill("<token>\n"),
		fill("  --password <password>   Password to use\n"),
		fill("<password>\n</x>\n"),
		fill("<a-token>\n<b-token>\n<c-token>\n</d-token\n"),
		fill("mysql "),
		fill("- value: x\n  name: password\n"),
		fill("- name: password\n  value: |\n    x\n"),
		"a:\n" + strings.Repeat(" b:\n", size/4),
		strings.Repeat("name: token\n", size/24) + strings.Repeat("value: x\n", size/18),
		fill("mysql -p'"),
		fill("'mysql', "),
		fill("sshpass -p "),
		fill("password: “"),
		fill("“x”: "),
		fill("password: |\n"),
		"password: |\n" + fill("\n "),
		fill("%5D="),
		fill("]="),
		fill("%3D"),
		// Every '[' is tried as JSON, as before; a subscript is looked
		// for up to 64 bytes ahead first.
		fill("a[" + strings.Repeat("y", 62)),
		fill("ids[]=1&"),
		// Programs read to the end of their command; flow mappings and
		// multipart parts from where the last one stopped.
		fill("docker "),
		fill("docker login "),
		fill("sqlplus a/"),
		fill("redis-cli -a "),
		fill("htpasswd -b "),
		fill("{'name': 'token', "),
		fill("{name: "),
		fill("{'a"),
		fill("{'value': 'x', 'name"),
		fill("form-data; name=password\n"),
		fill("form-data; name=password\n\nx"),
		// Full-width separators, keys beyond ASCII, Ruby pairs.
		fill("パスワード："),
		fill("：x"),
		fill("密码密码密码密码="),
		fill(`"token"=>`),
		fill(`{"a"=>`),
		fill(`"""`),
		fill("password: !x "),
		fill("<name>password</name><x>"),
		fill("<name>password</name><value>x</value>"),
		fill("<name>password"),
		fill("- docker "),
		fill("sudo -E "),
		fill("docker login \\\n"),
		fill("password:\n"),
		fill("password: &a "),
		fill("password: !"),
		fill("SQL> connect a/"),
		fill("PWD=$x;"),
	} {
		start := time.Now()
		redactString(r, in, false)
		d := time.Since(start)
		t.Logf("%.20q…: %v", in, d)
		if d > 50*base+2*time.Second {
			t.Errorf("%.20q…: %v, plain text %v", in, d, base)
		}
	}
}
