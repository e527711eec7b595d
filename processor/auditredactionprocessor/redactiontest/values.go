package redactiontest

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
)

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randString(rng *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

// cardNumber returns a random 16-digit Visa or Mastercard number that passes
// the Luhn check, formatted plainly or in groups of four joined by spaces or
// dashes.
func cardNumber(rng *rand.Rand) string {
	d := make([]int, 16)
	if rng.IntN(2) == 0 {
		d[0] = 4
	} else {
		d[0], d[1] = 5, 1+rng.IntN(5)
	}
	start := 1
	if d[0] == 5 {
		start = 2
	}
	for i := start; i < 15; i++ {
		d[i] = rng.IntN(10)
	}
	sum := 0
	for i := 14; i >= 0; i-- {
		v := d[i]
		if (14-i)%2 == 0 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	d[15] = (10 - sum%10) % 10
	var b strings.Builder
	sep := []string{"", " ", "-"}[rng.IntN(3)]
	for i, v := range d {
		if i > 0 && i%4 == 0 {
			b.WriteString(sep)
		}
		b.WriteByte(byte('0' + v))
	}
	return b.String()
}

// ssn returns a random valid-looking US SSN, ddd-dd-dddd.
func ssn(rng *rand.Rand) string {
	area := 1 + rng.IntN(899)
	if area == 666 {
		area = 667
	}
	return fmt.Sprintf("%03d-%02d-%04d", area, 1+rng.IntN(99), 1+rng.IntN(9999))
}

func email(rng *rand.Rand) string {
	return fmt.Sprintf("%s.%s@%s.example.com",
		randString(rng, "abcdefghijklmnopqrstuvwxyz", 5), randString(rng, alnum, 8), randString(rng, "abcdefghijklmnopqrstuvwxyz", 6))
}

func jwt(rng *rand.Rand) string {
	enc := base64.RawURLEncoding
	h := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT","kid":"` + randString(rng, alnum, 8) + `"}`))
	p := enc.EncodeToString([]byte(`{"sub":"` + randString(rng, alnum, 12) + `","exp":1900000000}`))
	return h + "." + p + "." + randString(rng, alnum+"-_", 43)
}

func awsKey(rng *rand.Rand) string {
	return []string{"AKIA", "ASIA"}[rng.IntN(2)] + randString(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
}

func bearerToken(rng *rand.Rand) string { return randString(rng, alnum, 32) }

func pemKey(rng *rand.Rand) (block, body string) {
	body = randString(rng, alnum+"+/", 64)
	label := []string{"RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"}[rng.IntN(4)]
	return "-----BEGIN " + label + "-----\n" + body + "\n" + randString(rng, alnum, 40) + "\n-----END " + label + "-----", body
}

// secretValue is the value planted under a sensitive key: unique, and
// distinctive enough that finding it in output means it leaked.
func secretValue(rng *rand.Rand) string {
	return []string{"sk-", "pw_", "tok.", "", "Secret "}[rng.IntN(5)] + randString(rng, alnum, 20)
}

// piiValue is the value planted under a PII key.
func piiValue(rng *rand.Rand, word string) string {
	switch word {
	case "date_of_birth", "dob", "birth_date":
		return fmt.Sprintf("19%02d-%02d-%02d/%s", rng.IntN(100), 1+rng.IntN(12), 1+rng.IntN(28), randString(rng, alnum, 6))
	case "email":
		return email(rng)
	}
	return "Pat " + randString(rng, "abcdefghijklmnopqrstuvwxyz", 6) + " " + randString(rng, alnum, 10)
}

// ordinaryValue is a value that must pass through unchanged.
func ordinaryValue(rng *rand.Rand) string {
	return []string{"ok ", "Paris ", "order-", "note: all good ", "12:30 "}[rng.IntN(5)] + randString(rng, alnum, 12)
}
