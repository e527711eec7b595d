package auditredactionprocessor

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelaudit/otelaudit/internal/attrkey"
	"github.com/otelaudit/otelaudit/processor/auditredactionprocessor/redactiontest"
)

// leakSpans is how many generated spans the leak tests push through the
// processor. The race detector slows the run about tenfold, so a race build
// runs a tenth; the full 100,000 run in every other build, including the
// bench module's test run in `make test`.
func leakSpans() int {
	if raceEnabled {
		return 10_000
	}
	return 100_000
}

func runLeak(t *testing.T, cfg *Config, seed uint64, spans int) {
	sink := new(consumertest.TracesSink)
	p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(typ), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), nil))
	redactiontest.RunLeak(t, p, sink, seed, spans)
	require.NoError(t, p.Shutdown(context.Background()))
}

// TestLeak plants known secrets and PII under random key spellings, nesting
// depths, arrays and JSON-in-JSON, runs them through the processor in a real
// pipeline, and searches every byte of the protobuf and JSON encodings of the
// output for every planted value. Look-alike keys and ordinary values must
// pass unchanged.
func TestLeak(t *testing.T) {
	runLeak(t, keyedConfig(), 1, leakSpans())
}

// TestLeakWithoutKey is the same without an HMAC key, where PII is masked
// rather than pseudonymised.
func TestLeakWithoutKey(t *testing.T) {
	runLeak(t, createDefaultConfig().(*Config), 2, leakSpans()/10)
}

// textShapes are secrets in the shapes free text gives them: JSON quoted in
// an exception message or after a prefix, a Python dict, header lines,
// connection strings, command lines, numbers in other notations, and
// credentials with a stray byte. Each planted value holds "S3cr" so that the
// search below finds any part of it that leaks.
var textShapes = []struct{ text, secret string }{
	{`Tool returned: {"credentials":{"user":"bob","pw":"S3crA1"},"n":1}`, "S3crA1"},
	{`Tool returned: {"api_keys":["S3crA2"]}`, "S3crA2"},
	{"```json\n{\"credentials\":{\"pw\":\"S3crA3\"}}\n```", "S3crA3"},
	{"data: {\"secret\":{\"v\":\"S3crA4\"}}\n\n", "S3crA4"},
	{"\ufeff{\"credentials\":{\"pw\":\"S3crA5\"}}", "S3crA5"},
	{"{\"ok\":1}\n{\"credentials\":{\"pw\":\"S3crA6\"}}", "S3crA6"},
	{`{'credentials': {'user': 'bob', 'pw': 'S3crA7'}}`, "S3crA7"},
	{"Cookie: theme=dark; sessionid=S3crB1", "S3crB1"},
	{`Authorization: Digest username="a", response="S3crB2"`, "S3crB2"},
	{"Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/x, SignedHeaders=host, Signature=S3crB3", "S3crB3"},
	{"contact josé@exämple.com", "josé@exämple.com"},
	{"postgres://admin:S3crC1@db.example.com:5432/prod", "S3crC1"},
	{"mongodb+srv://root:S3crC2@cluster0.example.net/db", "S3crC2"},
	{"redis://:S3crC3@cache:6379/0", "S3crC3"},
	{"mysql -u root --password S3crC4 prod", "S3crC4"},
	{"curl -u admin:S3crC5 https://x", "S3crC5"},
	{"Bearer abcdefgh\xffS3crD1xyz", "S3crD1"},
	{"mail alice\xff@example.com", "@example.com"},
	{`{"pan":4111111111111111e0}`, "4111111111111111"},
	{`{"amex":37828224631000.5e1}`, "378282246310005"},
	{`{"api_keys":{"sk-live-S3crE1x9q":"prod"}}`, "S3crE1"},
	{`Tool returned: {"access_tokens":[{"ghp_S3crE2abc":"repo"}]}`, "S3crE2"},
	{"<Envelope><password>S3crF1</password></Envelope>", "S3crF1"},
	{"<ns:ApiKey>S3crF2</ns:ApiKey>", "S3crF2"},
	{"<client_secret><![CDATA[S3crF3]]></client_secret>", "S3crF3"},
	{`<wsse:Password Type="x#PasswordText">S3crF4</wsse:Password>`, "S3crF4"},
	{`<entry key="password">S3crF5</entry><param name="token" value="S3crF5"/>`, "S3crF5"},
	{"<credentials>\n  <user>bob</user>\n  <pw>S3crF6</pw>\n</credentials>", "S3crF6"},
	{"error near <token>S3crF7", "S3crF7"},
	{`<password>{"v":"S3crF8"}</password>`, "S3crF8"},
	{"mysql -uroot -pS3crG1 prod", "S3crG1"},
	{"Command '['mysqldump', '-u', 'root', '-pS3crG2']' returned non-zero exit status 2.", "S3crG2"},
	{`{"argv":["mariadb","-pS3crG3"]}`, "S3crG3"},
	{"sshpass -pS3crG4 ssh h; sshpass -p S3crG4 ssh h", "S3crG4"},
	{`["sshpass","-p","S3crG5","ssh","h"]`, "S3crG5"},
	{"password: “with S3crH1 spaces”", "S3crH1"},
	{"token=‘abc S3crH2’", "S3crH2"},
	{"“api_key”: «x S3crH3»", "S3crH3"},
	{"--password „a S3crH4“ -v", "S3crH4"},
	{"db:\n  password: |\n    line S3crJ1\n    S3crJ1 again\n  host: x", "S3crJ1"},
	{"- token: >-\n    folded\n\n    S3crJ2\n- name: x", "S3crJ2"},
	{"user%5Bpassword%5D=S3crK1&x=1", "S3crK1"},
	{"user[password]=S3crK2&ids[]=1", "S3crK2"},
	{"pass%77ord=S3crK3", "S3crK3"},
	{"GET /login?next=%2Fcb%3Ftoken%3DS3crK4%26y%3D1", "S3crK4"},
	{"redis-cli -a S3crL1 ping; docker login -u bob -p S3crL1 r.io", "S3crL1"},
	{"keytool -storepass S3crL2; openssl pkcs12 -passin pass:S3crL2", "S3crL2"},
	{"sqlcmd -S db -P S3crL3; ldapsearch -x -w S3crL3 -b dc=x; mongosh -p S3crL3", "S3crL3"},
	{"smbclient //s/x -U bob%S3crL4; htpasswd -bc f bob S3crL4; sqlplus scott/S3crL4@db", "S3crL4"},
	{`["docker","login","-p","S3crL5"]`, "S3crL5"},
	{"export MYSQL_PWD=S3crM1; Server=db;Uid=sa;Pwd=S3crM1;", "S3crM1"},
	{`Parameters: {"user"=>{"password"=>"S3crM2"}}`, "S3crM2"},
	{`Tags: [{'Key': 'api_token', 'Value': 'S3crM3'}]`, "S3crM3"},
	{"env: [{name: DB_PASSWORD, value: S3crM4}]", "S3crM4"},
	{"ユーザーパスワード：S3crN1、密码=S3crN1，Passwort: S3crN1", "S3crN1"},
	{"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYB S3crN2\n-----END PGP PRIVATE KEY BLOCK-----", "S3crN2"},
	{"--b\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nS3crN3\r\n--b--", "S3crN3"},
	{"password = '''S3crN4'''\ntoken: !!str S3crN4", "S3crN4"},
	{"<configuration><property><name>javax.jdo.option.ConnectionPassword</name><value>S3crN5</value></property></configuration>", "S3crN5"},
	{`{"command":"redis-cli","args":["-h","cache","-a","S3crN6"]}`, "S3crN6"},
}

// TestLeakTextShapes plants each of textShapes in every place free text
// goes (a plain attribute, a JSON payload's string member, a span name, a
// status message, an event name and attribute, a link and a resource
// attribute, a log body and event name), and searches every byte of the
// output's protobuf and JSON encodings, also escaped once and twice, for
// the planted value.
func TestLeakTextShapes(t *testing.T) {
	for _, cfg := range []*Config{createDefaultConfig().(*Config), keyedConfig()} {
		for _, sh := range textShapes {
			payload, err := json.Marshal(map[string]string{"note": sh.text})
			require.NoError(t, err)
			td := oneSpan(func(rs ptrace.ResourceSpans, span ptrace.Span) {
				rs.Resource().Attributes().PutStr("deploy.note", sh.text)
				span.SetName(sh.text)
				span.Status().SetMessage(sh.text)
				span.Attributes().PutStr("note", sh.text)
				span.Attributes().PutStr(attrkey.GenAIToolCallResult, sh.text)
				span.Attributes().PutStr(attrkey.GenAIToolCallArgs, string(payload))
				ev := span.Events().AppendEmpty()
				ev.SetName(sh.text)
				ev.Attributes().PutStr("exception.message", sh.text)
				span.Links().AppendEmpty().Attributes().PutStr("note", sh.text)
			})
			out := runTraces(t, cfg, td)
			pb, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(out)
			require.NoError(t, err)
			js, err := (&ptrace.JSONMarshaler{}).MarshalTraces(out)
			require.NoError(t, err)
			assertNoLeak(t, sh.text, sh.secret, pb, js)

			ld := plog.NewLogs()
			lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
			lr.Body().SetStr(sh.text)
			lr.SetEventName(sh.text)
			sink := new(consumertest.LogsSink)
			p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(typ), cfg, sink)
			require.NoError(t, err)
			require.NoError(t, p.ConsumeLogs(context.Background(), ld))
			lpb, err := (&plog.ProtoMarshaler{}).MarshalLogs(sink.AllLogs()[0])
			require.NoError(t, err)
			assertNoLeak(t, sh.text, sh.secret, lpb)
		}
	}
}

func assertNoLeak(t *testing.T, text, secret string, encodings ...[]byte) {
	t.Helper()
	once, _ := json.Marshal(secret)
	twice, _ := json.Marshal(string(once))
	forms := []string{secret, strings.Trim(string(once), `"`), strings.Trim(string(twice), `"`)}
	for _, enc := range encodings {
		for _, f := range forms {
			if strings.Contains(string(enc), f) {
				t.Errorf("%q: %q leaked", text, f)
				return
			}
		}
	}
}
