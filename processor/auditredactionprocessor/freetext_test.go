package auditredactionprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// freeTextForms are secrets in free-text shapes beyond key=value pairs:
// XML and HTML elements, a mysql-family program's attached -p password,
// values in typographic quotes, YAML block scalars and URL-encoded form
// keys, with look-alikes that must pass unchanged.
var freeTextForms = []struct{ name, in, want string }{
	// Named pairs cut off inside their value (an SDK's length limit on an
	// exception message), in text; a whole payload is rewritten as JSON.
	{"pair cut off", `{"env":[{"name":"DB_PASSWORD","value":"qaLen29`, `{"env":[{"name":"DB_PASSWORD","value":"***REDACTED***`},
	{"pair cut off after text", `Error: request={"env":[{"name":"DB_PASSWORD","value":"qaTr03`, `Error: request={"env":[{"name":"DB_PASSWORD","value":"***REDACTED***`},
	{"tag pair cut off", `{"Key":"api_token","Value":"qaTr09`, `{"Key":"api_token","Value":"***REDACTED***`},
	{"parameter pair cut off", `{"ParameterKey":"DbPassword","ParameterValue":"qaTr10`, `{"ParameterKey":"DbPassword","ParameterValue":"***REDACTED***`},
	{"pair structure cut off", `{"name":"DB_PASSWORD","value":{"a":"qaTr08`, `{"name":"DB_PASSWORD","value":{"a":"***REDACTED***`},
	{"pair cut off with marker", `x {"env":[{"name":"DB_PASSWORD","value":"qaTr12… (truncated)`, `x {"env":[{"name":"DB_PASSWORD","value":"***REDACTED***`},
	{"pair cut off, innocuous", `{"env":[{"name":"LOG_LEVEL","value":"debu`, `{"env":[{"name":"LOG_LEVEL","value":"debu`},
	// Named pairs in YAML (kubectl get -o yaml).
	{"yaml env pair", "env:\n- name: DB_PASSWORD\n  value: qaK8sYaml01\n- name: LOG_LEVEL\n  value: debug\n", "env:\n- name: DB_PASSWORD\n  value: ***REDACTED***\n- name: LOG_LEVEL\n  value: debug\n"},
	{"yaml env pair nested", "spec:\n  containers:\n  - env:\n    - name: API_TOKEN\n      value: \"qa K8s 02\"\n    image: app:1\n", "spec:\n  containers:\n  - env:\n    - name: API_TOKEN\n      value: \"***REDACTED***\"\n    image: app:1\n"},
	{"yaml pair value first", "- value: qaK8s03 # set by ops\n  name: db_password\n", "- value: ***REDACTED*** # set by ops\n  name: db_password\n"},
	{"yaml pair across nested value", "- value: qaK8s04\n  extra:\n    a: b\n  name: client_secret\n", "- value: ***REDACTED***\n  extra:\n    a: b\n  name: client_secret\n"},
	{"yaml pair block value", "- name: TLS_PRIVATE_KEY\n  value: |\n    line one\n    line two\n- name: X\n", "- name: TLS_PRIVATE_KEY\n  value: |\n    ***REDACTED***\n- name: X\n"},
	{"yaml tag pair", "Tags:\n  - Key: api_token\n    Value: qaK8s05\n  - Key: team\n    Value: payments\n", "Tags:\n  - Key: api_token\n    Value: ***REDACTED***\n  - Key: team\n    Value: payments\n"},
	{"yaml valueFrom kept", "- name: DB_PASSWORD\n  valueFrom:\n    secretKeyRef:\n      name: db\n      key: password\n", "- name: DB_PASSWORD\n  valueFrom:\n    secretKeyRef:\n      name: db\n      key: password\n"},
	{"yaml innocuous pair", "- name: replicas\n  value: 3\n", "- name: replicas\n  value: 3\n"},
	// XML and HTML elements.
	{"xml element", "<password>hunter2</password>", "<password>***REDACTED***</password>"},
	{"xml namespaced", "<ns:ApiKey>abc</ns:ApiKey>", "<ns:ApiKey>***REDACTED***</ns:ApiKey>"},
	{"xml cdata", "<client_secret><![CDATA[s3cr3t]]></client_secret>", "<client_secret><![CDATA[***REDACTED***]]></client_secret>"},
	{"soap password", `<wsse:Security><wsse:Username>bob</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss#PasswordText">pw1</wsse:Password></wsse:Security>`,
		`<wsse:Security><wsse:Username>bob</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss#PasswordText">***REDACTED***</wsse:Password></wsse:Security>`},
	// UsernameToken ends with a sensitive word, as in JSON: every text
	// under it is masked.
	{"soap username token", `<wsse:UsernameToken><wsse:Username>bob</wsse:Username></wsse:UsernameToken>`,
		`<wsse:UsernameToken><wsse:Username>***REDACTED***</wsse:Username></wsse:UsernameToken>`},
	{"xml element named by data", `<entry key="password">x</entry>`, `<entry key="password">***REDACTED***</entry>`},
	{"xml value attribute", `<param name="token" value="x"/>`, `<param name="token" value="***REDACTED***"/>`},
	{"html password input", `<input type="password" name="pw" value="hunter2">`, `<input type="password" name="pw" value="***REDACTED***">`},
	{"html unquoted attributes", `<input type=password value=qaH03><param name=token value=x/><meta name=csrf-token content=abc>`, `<input type=password value=***REDACTED***><param name=token value=***REDACTED***/><meta name=csrf-token content=***REDACTED***>`},
	{"html unquoted mixed", `<input type="password" value = qaH04 id=pw>`, `<input type="password" value = ***REDACTED*** id=pw>`},
	{"xml unquoted naming attribute", `<entry key=token>x</entry>`, `<entry key=token>***REDACTED***</entry>`},
	{"html unquoted innocuous", `<input type=text name=token_count value=5>`, `<input type=text name=token_count value=5>`},
	{"xml nested", "<credentials><user>bob</user><pw>s</pw></credentials>", "<credentials><user>***REDACTED***</user><pw>***REDACTED***</pw></credentials>"},
	{"xml white space kept", "<Password>\n  pw\n</Password>", "<Password>\n  ***REDACTED***\n</Password>"},
	{"xml unclosed", "error near <token>abc def", "error near <token>***REDACTED***"},
	{"xml unclosed ends its line", "usage: cli --token <token>\nRuns the job as the given user.\nSee docs.", "usage: cli --token <token>\nRuns the job as the given user.\nSee docs."},
	{"xml unclosed help text", "Usage: login --user <user> --password <password>\nExample: login --user bob\n  --password <password>   Password to use\n  --verbose   More output", "Usage: login --user <user> --password <password>\nExample: login --user bob\n  --password <password>   ***REDACTED***\n  --verbose   More output"},
	{"xml unclosed prose", "replace <token> with yours\nthen run make", "replace <token> ***REDACTED***\nthen run make"},
	{"xml unclosed pretty-printed", "<creds>\n  <password>\n    hunter2\n  trailing", "<creds>\n  <password>\n    ***REDACTED***\n  trailing"},
	{"xml pii masked without key", "<ssn>123456789</ssn>", "<ssn>***REDACTED***</ssn>"},
	{"xml named pair", "<property>\n  <name>javax.jdo.option.ConnectionPassword</name>\n  <value>qaXp01</value>\n  <description>the metastore password</description>\n</property>", "<property>\n  <name>javax.jdo.option.ConnectionPassword</name>\n  <value>***REDACTED***</value>\n  <description>the metastore password</description>\n</property>"},
	{"xml named pair nested", "<property><name>db.password</name><meta><value>kept</value></meta><value>qaXp02</value></property>", "<property><name>db.password</name><meta><value>kept</value></meta><value>***REDACTED***</value></property>"},
	{"xml named pair ends with its parent", "<property><name>a.password</name></property><property><name>x</name><value>kept</value></property><value>kept</value>", "<property><name>a.password</name></property><property><name>x</name><value>kept</value></property><value>kept</value>"},
	{"xml innocuous pair", "<property><name>fs.defaultFS</name><value>hdfs://nn:8020</value></property>", "<property><name>fs.defaultFS</name><value>hdfs://nn:8020</value></property>"},
	{"xml innocuous", "<user><name>bob</name><role>admin</role><token_count>5</token_count></user>", "<user><name>bob</name><role>admin</role><token_count>5</token_count></user>"},
	{"html innocuous", `<p>use a strong password</p><input type="text" name="q" value="hello">`, `<p>use a strong password</p><input type="text" name="q" value="hello">`},
	{"xml empty", "<password/><password></password>", "<password/><password></password>"},

	// mysql-family programs' attached password, sshpass.
	{"mysql -p", "mysql -uroot -pS3cret prod", "mysql -uroot -p***REDACTED*** prod"},
	{"mysqldump path", "/usr/bin/mysqldump -h db -pS3cret --all-databases", "/usr/bin/mysqldump -h db -p***REDACTED*** --all-databases"},
	{"mariadb-dump", "mariadb-dump -pS3cret x", "mariadb-dump -p***REDACTED*** x"},
	{"mysql quoted password", "mysql -p'S3c ret' db", "mysql -p'***REDACTED***' db"},
	{"mysql python list", "Command '['mysql', '-uroot', '-pS3cret']' returned non-zero exit status 1.",
		"Command '['mysql', '-uroot', '-p***REDACTED***']' returned non-zero exit status 1."},
	{"mysql argv", `{"argv":["mysql","-uroot","-pS3cret"]}`, `{"argv":["mysql","-uroot","***REDACTED***"]}`},
	{"sshpass attached", "sshpass -pS3cret ssh u@h", "sshpass -p***REDACTED*** ssh u@h"},
	{"sshpass separate", "sshpass -p S3cret ssh u@h", "sshpass -p ***REDACTED*** ssh u@h"},
	{"sshpass argv", `["sshpass","-p","S3cret","ssh","h"]`, `["sshpass","-p","***REDACTED***","ssh","h"]`},
	{"mysql prompt", "mysql -p prod", "mysql -p prod"},
	{"mysql data directory to find", "find /var/lib/mysql -perm 644 -type f", "find /var/lib/mysql -perm 644 -type f"},
	{"mysql as a flag's value", "find . -name mysql -perm 644", "find . -name mysql -perm 644"},
	{"mysql path after sudo", "sudo /usr/bin/mysql -pS3cret db", "sudo /usr/bin/mysql -p***REDACTED*** db"},
	{"mysql after kubectl exec", "kubectl exec -it db-0 -- mysql -uroot -pS3cret", "kubectl exec -it db-0 -- mysql -uroot -p***REDACTED***"},
	{"mysql after a pipe", "cat dump.sql | /usr/bin/mysql -pS3cret db", "cat dump.sql | /usr/bin/mysql -p***REDACTED*** db"},
	{"mysql port", "mysql -P 3306 -h db --port=3306", "mysql -P 3306 -h db --port=3306"},
	{"ssh port", "ssh -p 22 host; ssh -p2222 host", "ssh -p 22 host; ssh -p2222 host"},
	{"docker port", "docker run -p 8080:80 nginx", "docker run -p 8080:80 nginx"},
	{"ssh argv port", `["ssh","-p2222","host"]`, `["ssh","-p2222","host"]`},

	// Other programs that take a password their own way.
	{"redis-cli -a", "redis-cli -h cache -a qaRd01 ping", "redis-cli -h cache -a ***REDACTED*** ping"},
	{"redis-cli quoted", "redis-cli -a 'qa Rd02' --no-auth-warning", "redis-cli -a '***REDACTED***' --no-auth-warning"},
	{"docker login -p", "docker login -u bob -p qaDk01 registry.example.com", "docker login -u bob -p ***REDACTED*** registry.example.com"},
	{"helm registry login", "helm registry login r.io -u bob -pqaDk02", "helm registry login r.io -u bob -p***REDACTED***"},
	{"docker run port then login", "docker run -p 8080:80 nginx && podman login -p qaDk03 r.io", "docker run -p 8080:80 nginx && podman login -p ***REDACTED*** r.io"},
	{"az login", "az login -u bob -p qaAz01", "az login -u bob -p ***REDACTED***"},
	{"cf login", "cf login -a api.x -u bob -p qaCf01", "cf login -a api.x -u bob -p ***REDACTED***"},
	{"keytool", "keytool -importkeystore -srcstorepass qaKt01 -deststorepass qaKt02 -keypass qaKt03", "keytool -importkeystore -srcstorepass ***REDACTED*** -deststorepass ***REDACTED*** -keypass ***REDACTED***"},
	{"openssl pass:", "openssl pkcs12 -in a.p12 -passin pass:qaOs01 -passout pass:qaOs02", "openssl pkcs12 -in a.p12 -passin pass:***REDACTED*** -passout pass:***REDACTED***"},
	{"openssl enc -k", "openssl enc -aes256 -k qaOs03 -in f -out g", "openssl enc -aes256 -k ***REDACTED*** -in f -out g"},
	{"sqlcmd -P", `sqlcmd -S db -U sa -P qaSq01 -Q "select 1"`, `sqlcmd -S db -U sa -P ***REDACTED*** -Q "select 1"`},
	{"bcp -P glued", "bcp t out f.dat -S db -U sa -PqaSq02", "bcp t out f.dat -S db -U sa -P***REDACTED***"},
	{"ldapsearch -w", "ldapsearch -x -D cn=admin,dc=x -w qaLd01 -b dc=x", "ldapsearch -x -D cn=admin,dc=x -w ***REDACTED*** -b dc=x"},
	{"ldappasswd", "ldappasswd -x -D cn=admin -wqaLd02 -a qaLd03 -s qaLd04 uid=bob", "ldappasswd -x -D cn=admin -w***REDACTED*** -a ***REDACTED*** -s ***REDACTED*** uid=bob"},
	{"mongosh -p", "mongosh -u bob -p qaMg01 --authenticationDatabase admin", "mongosh -u bob -p ***REDACTED*** --authenticationDatabase admin"},
	{"smbclient -U", "smbclient //srv/share -U 'bob%qaSm01'", "smbclient //srv/share -U 'bob%***REDACTED***'"},
	{"net ads join", "net ads join -U admin%qaSm02", "net ads join -U admin%***REDACTED***"},
	{"htpasswd -b", "htpasswd -bc /etc/nginx/.htpasswd bob qaHt01", "htpasswd -bc /etc/nginx/.htpasswd bob ***REDACTED***"},
	{"htpasswd -nb", "htpasswd -nbB -C 10 bob qaHt02", "htpasswd -nbB -C 10 bob ***REDACTED***"},
	{"sqlplus", "sqlplus scott/qaOr01@//db:1521/orcl @run.sql", "sqlplus scott/***REDACTED***@//db:1521/orcl @run.sql"},
	{"expdp", "expdp system/qaOr02 directory=d dumpfile=x.dmp", "expdp system/***REDACTED*** directory=d dumpfile=x.dmp"},
	{"sqlldr userid", "sqlldr userid=scott/qaOr03 control=load.ctl", "sqlldr userid=scott/***REDACTED*** control=load.ctl"},
	{"redis-cli port", "redis-cli -p 6380 -h cache", "redis-cli -p 6380 -h cache"},
	{"docker run ports", "docker run -p 8080:80 -p 443:443 nginx", "docker run -p 8080:80 -p 443:443 nginx"},
	{"openssl from env", "openssl rsa -in k.pem -passin env:KEY_PASS -passout file:pw.txt", "openssl rsa -in k.pem -passin env:KEY_PASS -passout file:pw.txt"},
	{"sqlplus local", "sqlplus / as sysdba; sqlplus -s /nolog @scripts/run.sql", "sqlplus / as sysdba; sqlplus -s /nolog @scripts/run.sql"},
	{"mongosh prompt", "mongosh -u bob -p --eval 'db.x.find()'", "mongosh -u bob -p --eval 'db.x.find()'"},
	{"ldapsearch scope", "ldapsearch -x -s sub -b dc=x", "ldapsearch -x -s sub -b dc=x"},
	{"htpasswd -cb", "htpasswd -cb f bob qaHt03", "htpasswd -cb f bob ***REDACTED***"},
	{"htpasswd interactive", "htpasswd -c /etc/.htpasswd bob", "htpasswd -c /etc/.htpasswd bob"},
	{"net in prose", "the net -U flag and sql reports/q1 are fine", "the net -U flag and sql reports/q1 are fine"},
	{"docker exec then mysql", "docker exec -it db mysql -uroot -pqaDk04", "docker exec -it db mysql -uroot -p***REDACTED***"},

	// Environment variables and connection strings.
	{"MYSQL_PWD", "export MYSQL_PWD='qaEv01'; mysql -uroot", "export MYSQL_PWD='***REDACTED***'; mysql -uroot"},
	{"REDISCLI_AUTH", "REDISCLI_AUTH=qaEv02 redis-cli", "REDISCLI_AUTH=***REDACTED*** redis-cli"},
	{"SECRET_KEY_BASE", "SECRET_KEY_BASE=qaEv03 rails s", "SECRET_KEY_BASE=***REDACTED*** rails s"},
	{"odbc Pwd", "Driver={ODBC Driver 18};Server=db;Uid=sa;Pwd=qaEv04;", "Driver={ODBC Driver 18};Server=db;Uid=sa;Pwd=***REDACTED***;"},
	{"shell PWD", `PWD=/home/bob OLDPWD=~/src pwd=C:\Users\bob`, `PWD=/home/bob OLDPWD=~/src pwd=C:\Users\bob`},

	// Ruby, PHP and Perl pairs; Python and YAML flow mappings.
	{"ruby hash inspect", `Parameters: {"user"=>{"email"=>"x", "password"=>"qaRb01"}, "commit"=>"Sign in"}`, `Parameters: {"user"=>{"email"=>"***REDACTED***", "password"=>"***REDACTED***"}, "commit"=>"Sign in"}`},
	{"ruby symbols", `{:password => "qaRb02", :user => "bob"}`, `{:password => "***REDACTED***", :user => "bob"}`},
	{"php array", `$config = ['db_password' => 'qaPh01', 'host' => 'db'];`, `$config = ['db_password' => '***REDACTED***', 'host' => 'db'];`},
	{"php short array", `["api_token" => "qaPh02", "n" => 1]`, `["api_token" => "***REDACTED***", "n" => 1]`},
	{"python pair", `{'name': 'DB_PASSWORD', 'value': 'qaPy01'}`, `{'name': 'DB_PASSWORD', 'value': '***REDACTED***'}`},
	{"boto3 tags", `Tags: [{'Key': 'team', 'Value': 'pay'}, {'Key': 'api_token', 'Value': 'qaPy02'}]`, `Tags: [{'Key': 'team', 'Value': 'pay'}, {'Key': 'api_token', 'Value': '***REDACTED***'}]`},
	{"python pair value first", "{'value': 'qaPy03',\n 'name': 'client_secret'}", "{'value': '***REDACTED***',\n 'name': 'client_secret'}"},
	{"yaml flow pair", `env: [{name: DB_PASSWORD, value: qaYf01}, {name: LOG, value: debug}]`, `env: [{name: DB_PASSWORD, value: ***REDACTED***}, {name: LOG, value: debug}]`},
	{"python innocuous pair", `{'name': 'replicas', 'value': 3}`, `{'name': 'replicas', 'value': 3}`},
	{"python triple quotes", `password = """qa Tq01"""`, `password = """***REDACTED***"""`},
	{"yaml tag", "token: !!str qaYt01\npassword: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6638\nuser: bob", "token: !!str ***REDACTED***\npassword: !vault |\n  ***REDACTED***\nuser: bob"},

	// Other languages and full-width separators.
	{"japanese", "ユーザーパスワード：qaJa01、次へ", "ユーザーパスワード：***REDACTED***、次へ"},
	{"chinese", "用户名：bob，密码：qaZh01。", "用户名：bob，密码：***REDACTED***。"},
	{"korean", "비밀번호: qaKo01", "비밀번호: ***REDACTED***"},
	{"german", "Passwort: qaDe01", "Passwort: ***REDACTED***"},
	{"spanish", "contraseña=qaEs01", "contraseña=***REDACTED***"},
	{"russian", "пароль: qaRu01", "пароль: ***REDACTED***"},
	{"full-width after english", "password：qaFw01", "password：***REDACTED***"},
	{"wide prose", "請輸入用戶名：bob，時間：12：30", "請輸入用戶名：bob，時間：12：30"},

	// PGP and multipart forms.
	{"pgp private key", "key:\n-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBqaPg01\n-----END PGP PRIVATE KEY BLOCK-----\nok", "key:\n***REDACTED***\nok"},
	{"pgp public key", "-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQINB\n-----END PGP PUBLIC KEY BLOCK-----", "-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQINB\n-----END PGP PUBLIC KEY BLOCK-----"},
	{"multipart", "--xyz\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nbob\r\n--xyz\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nqaMp01\r\n--xyz--", "--xyz\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nbob\r\n--xyz\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n***REDACTED***\r\n--xyz--"},
	{"multipart content type", "Content-Disposition: form-data; name=api_key\nContent-Type: text/plain\n\nqaMp02\n--b--", "Content-Disposition: form-data; name=api_key\nContent-Type: text/plain\n\n***REDACTED***\n--b--"},
	{"multipart file", "Content-Disposition: form-data; name=\"file\"; filename=\"tokens.txt\"\n\nhello\n--b--", "Content-Disposition: form-data; name=\"file\"; filename=\"tokens.txt\"\n\nhello\n--b--"},

	// From the red team (stop 29): list items, wrappers with options, paths
	// after docker exec, line continuations.
	{"ci list item", "script:\n  - docker login -p qaQa01\n  - docker push x", "script:\n  - docker login -p ***REDACTED***\n  - docker push x"},
	{"bullet mysql", "- mysql -uroot -pqaQa02", "- mysql -uroot -p***REDACTED***"},
	{"sudo with options", "sudo -u root -E docker login -u bob -p qaQa03 reg", "sudo -u root -E docker login -u bob -p ***REDACTED*** reg"},
	{"watch", "watch -n1 redis-cli -a qaQa04 info", "watch -n1 redis-cli -a ***REDACTED*** info"},
	{"docker exec path", "docker exec -it mssql /opt/mssql-tools18/bin/sqlcmd -S localhost -U SA -P qaQa05 -C", "docker exec -it mssql /opt/mssql-tools18/bin/sqlcmd -S localhost -U SA -P ***REDACTED*** -C"},
	{"line continuation", "docker login \\\n  -u bob \\\n  -p qaQa06 \\\n  reg", "docker login \\\n  -u bob \\\n  -p ***REDACTED*** \\\n  reg"},
	{"find flag value", "find / -user root -name mysql -perm 644", "find / -user root -name mysql -perm 644"},
	// Words in any case, an ideographic space, CJK status text.
	{"cyrillic capitals", "Пароль: qaQa07 ПАРОЛЬ=qaQa07", "Пароль: ***REDACTED*** ПАРОЛЬ=***REDACTED***"},
	{"spanish capitals", "CONTRASEÑA: qaQa08", "CONTRASEÑA: ***REDACTED***"},
	{"ideographic space", "密码：\u3000qaQa09", "密码：\u3000***REDACTED***"},
	// A passphrase may be in any script: a value of CJK words is masked
	// too, also where it is a status ("修改密码：成功").
	{"cjk passphrase", "password: 秘密口令；密码：正确马电池", "password: ***REDACTED***；密码：***REDACTED***"},
	// YAML properties and values on the next line.
	{"yaml tag then line", "password: !!str\n  qaQa10\nuser: bob", "password: !!str\n  ***REDACTED***\nuser: bob"},
	{"yaml tag comment", "password: !!str # set by ops\n  qaQa11\nn: 1", "password: !!str # set by ops\n  ***REDACTED***\nn: 1"},
	{"yaml value next line", "db:\n  password:\n    qaQa12\n  host: x", "db:\n  password:\n    ***REDACTED***\n  host: x"},
	{"yaml anchor", "password: &pw qaQa13\nother: *pw", "password: &pw ***REDACTED***\nother: *pw"},
	{"yaml verbatim tag", "password: !<tag:yaml.org,2002:str> qaQa14", "password: !<tag:yaml.org,2002:str> ***REDACTED***"},
	{"yaml mapping under key", "properties:\n  password:\n    type: string\n    format: password\n  username:\n    type: string\n", "properties:\n  password:\n    type: string\n    format: password\n  username:\n    type: string\n"},
	{"yaml workflow secrets", "secrets:\n  password:\n    description: 'The DB password'\n    required: true\n  token:\n    - a\n", "secrets:\n  password:\n    description: 'The DB password'\n    required: true\n  token:\n    - a\n"},
	{"yaml keys under key", "auth:\n  password:\n    existingSecret: qaQa34\n", "auth:\n  password:\n    existingSecret: ***REDACTED***\n"},
	{"yaml cloudformation ref", "MasterUserPassword: !Ref DbPasswordParam\nToken: !Sub '{{resolve:secretsmanager:x}}'", "MasterUserPassword: !Ref DbPasswordParam\nToken: !Sub '{{resolve:secretsmanager:x}}'"},
	// Flow pairs: spaces, cut off, a nested sibling.
	{"python pair spaced", "{ 'name' : 'DB_PASSWORD' , 'value' : 'qaQa15' }", "{ 'name' : 'DB_PASSWORD' , 'value' : '***REDACTED***' }"},
	{"python pair cut off", "env={'name': 'DB_PASSWORD', 'value': 'qaQa16", "env={'name': 'DB_PASSWORD', 'value': '***REDACTED***"},
	{"python pair nested sibling", "{'name': 'DB_PASSWORD', 'value': 'qaQa17', 'extra': {'a': 1}}", "{'name': 'DB_PASSWORD', 'value': '***REDACTED***', 'extra': {'a': 1}}"},
	// Multipart names, Pwd in connection strings and the shell.
	{"multipart rails name", "--b\r\nContent-Disposition: form-data; name=\"user[password]\"\r\n\r\nqaQa18\r\n--b--", "--b\r\nContent-Disposition: form-data; name=\"user[password]\"\r\n\r\n***REDACTED***\r\n--b--"},
	{"multipart single quotes", "Content-Disposition: form-data; name='password'\n\nqaQa19\n--b--", "Content-Disposition: form-data; name='password'\n\n***REDACTED***\n--b--"},
	{"connection string path-like pwd", "Server=db;Uid=sa;Pwd=/qaQa20;", "Server=db;Uid=sa;Pwd=***REDACTED***;"},
	{"shell pwd forms", "echo PWD=$PWD; PWD=. PWD=../x", "echo PWD=$PWD; PWD=. PWD=../x"},
	// Quote prefixes, htpasswd --, Oracle users and sessions, flag spellings.
	{"python raw triple quotes", `password = r"""qaQa21"""`, `password = r"""***REDACTED***"""`},
	{"python raw string", `token = r"qaQa22"`, `token = r"***REDACTED***"`},
	{"htpasswd end of options", "htpasswd -b -- f bob qaQa23", "htpasswd -b -- f bob ***REDACTED***"},
	{"sqlplus email user", "sqlplus scott.tiger/qaQa24@orcl", "sqlplus scott.tiger/***REDACTED***@orcl"},
	{"sqlplus session", "sqlplus /nolog\nSQL> connect scott/qaQa25@orcl", "sqlplus /nolog\nSQL> connect scott/***REDACTED***@orcl"},
	{"oracle files", "expdp parfile=conf/exp.par; sqlldr control=ctl/a.ctl log=log/a.log; rman target / cmdfile=scripts/b.rman", "expdp parfile=conf/exp.par; sqlldr control=ctl/a.ctl log=log/a.log; rman target / cmdfile=scripts/b.rman"},
	{"ldap cluster", "ldapsearch -xw qaQa26 -b dc=x", "ldapsearch -xw ***REDACTED*** -b dc=x"},
	{"openssl equals", "openssl pkcs12 -in x -passin=pass:qaQa27", "openssl pkcs12 -in x -passin=pass:***REDACTED***"},
	{"passin without openssl", "pkcs12 -passin pass:qaQa28 -in x", "pkcs12 -passin pass:***REDACTED*** -in x"},
	{"mongo glued", "mongosh -u admin -pqaQa29; mongorestore -u admin -p=qaQa29", "mongosh -u admin -p***REDACTED***; mongorestore -u admin -p=***REDACTED***"},
	{"windows capitals", "SQLCMD -S db -U sa -P qaQa30", "SQLCMD -S db -U sa -P ***REDACTED***"},
	{"redis words", "redis-server --requirepass qaQa31", "redis-server --requirepass ***REDACTED***"},
	// Arrow functions are no pairs.
	{"perl bare values", "DBI->connect($dsn, user => 'bob', password => qaQa35); my %h = (api_key => q{qaQa36}, token => $tok);", "DBI->connect($dsn, user => 'bob', password => ***REDACTED***); my %h = (api_key => ***REDACTED***}, token => $tok);"},
	{"arrow function keywords", "const f = async token => await check(token); g = password => new Hash(password);", "const f = async token => await check(token); g = password => new Hash(password);"},
	{"kubectl exec path", "kubectl exec -it pod -- /usr/bin/mysql -uroot -pqaQa37", "kubectl exec -it pod -- /usr/bin/mysql -uroot -p***REDACTED***"},
	{"exp logon", "exp scott/qaQa40@orcl file=x.dmp", "exp scott/***REDACTED***@orcl file=x.dmp"},
	{"oracle userid", "exp userid=scott/qaQa38@orcl file=x.dmp; USERID=system/qaQa38", "exp userid=scott/***REDACTED***@orcl file=x.dmp; USERID=system/***REDACTED***"},
	{"ldap long cluster", "ldapsearch -ZZxw qaQa39 -b dc=x", "ldapsearch -ZZxw ***REDACTED*** -b dc=x"},
	{"arrow functions", "const t = tokens.map(token => token.trim()); const h = password => bcrypt.hash(password, 10);", "const t = tokens.map(token => token.trim()); const h = password => bcrypt.hash(password, 10);"},
	{"fat comma newline", "{\"password\" =>\n  \"qaQa32\"}", "{\"password\" =>\n  \"***REDACTED***\"}"},
	{"pgp secret key block", "-----BEGIN PGP SECRET KEY BLOCK-----\nqaQa33\n-----END PGP SECRET KEY BLOCK-----", "***REDACTED***"},

	// Typographic quotes.
	{"curly double", "password: “hunter2 with spaces”", "password: “***REDACTED***”"},
	{"curly single", "token=‘abc def’", "token=‘***REDACTED***’"},
	{"guillemets", "secret: «a b c»", "secret: «***REDACTED***»"},
	{"german quotes", "api_key: „x y“ then", "api_key: „***REDACTED***“ then"},
	{"curly key", "“password”: “x y”", "“password”: “***REDACTED***”"},
	{"curly prose", "He said “the password policy changed” and note: “hello world”", "He said “the password policy changed” and note: “hello world”"},

	// YAML block scalars.
	{"yaml literal", "password: |\n  line one\n  line two\nuser: bob", "password: |\n  ***REDACTED***\nuser: bob"},
	{"yaml folded nested", "db:\n  password: >-\n    folded\n    text\n  host: x", "db:\n  password: >-\n    ***REDACTED***\n  host: x"},
	{"yaml keep blank lines", "- token: |+\n    a\n\n    b\n- name: x", "- token: |+\n    ***REDACTED***\n- name: x"},
	{"yaml pem", "private_key: |\n  -----BEGIN RSA PRIVATE KEY-----\n  MIIE\n  -----END RSA PRIVATE KEY-----\nnext: 1", "private_key: |\n  ***REDACTED***\nnext: 1"},
	{"yaml innocuous", "description: |\n  the password is rotated\nscript: |\n  echo hi", "description: |\n  the password is rotated\nscript: |\n  echo hi"},

	// URL-encoded and bracketed form keys.
	{"form bracket encoded", "user%5Bpassword%5D=hunter2&x=1", "user%5Bpassword%5D=***REDACTED***&x=1"},
	{"form bracket", "user[password]=hunter2&x=1", "user[password]=***REDACTED***&x=1"},
	{"form key escaped", "pass%77ord=hunter2", "pass%77ord=***REDACTED***"},
	{"query in query", "GET /login?next=https%3A%2F%2Fapp%2Fcb%3Ftoken%3Dabc123%26y%3D1 HTTP/1.1", "GET /login?next=https%3A%2F%2Fapp%2Fcb%3Ftoken%3D***REDACTED***%26y%3D1 HTTP/1.1"},
	{"form innocuous", "items[0]=5&q=%3Dx&user%5Bname%5D=bob&discount=10%25", "items[0]=5&q=%3Dx&user%5Bname%5D=bob&discount=10%25"},
}

// TestFreeTextForms runs each of freeTextForms as a tool's result and as
// an exception event's message.
func TestFreeTextForms(t *testing.T) {
	for _, tt := range freeTextForms {
		t.Run(tt.name, func(t *testing.T) {
			td := oneSpan(func(_ ptrace.ResourceSpans, span ptrace.Span) {
				span.Attributes().PutStr(attrkey.GenAIToolCallResult, tt.in)
				ev := span.Events().AppendEmpty()
				ev.SetName("exception")
				ev.Attributes().PutStr("exception.message", tt.in)
			})
			out := firstSpan(runTraces(t, createDefaultConfig().(*Config), td))
			assert.Equal(t, tt.want, str(t, out.Attributes(), attrkey.GenAIToolCallResult), "tool result")
			assert.Equal(t, tt.want, str(t, out.Events().At(0).Attributes(), "exception.message"), "exception message")
		})
	}
}

// TestFreeTextFormsPseudonyms checks that an element named by a PII key is
// pseudonymised, as a PII key's value is.
func TestFreeTextFormsPseudonyms(t *testing.T) {
	td := oneSpan(func(_ ptrace.ResourceSpans, span ptrace.Span) {
		span.Attributes().PutStr(attrkey.GenAIToolCallResult, "<patient><ssn>123456789</ssn><email>Alice@Example.com</email></patient>")
	})
	out := firstSpan(runTraces(t, keyedConfig(), td))
	assert.Equal(t, "<patient><ssn>"+pseudonym(t, "123456789")+"</ssn><email>"+pseudonym(t, "alice@example.com")+"</email></patient>",
		str(t, out.Attributes(), attrkey.GenAIToolCallResult))
}
