package leakcheck

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// Markers are in every value Fill plants: finding any form of one in
// output is a leak. The second is for formats whose alphabet has no '-',
// the third for those without upper case.
var Markers = []string{"kaudit-canary-", "KAUDITCANARY", "kauditcanary"}

// Values returns the planted values of one corpus line, by placeholder,
// each carrying a marker and id (which tells lines apart).
func Values(id string) map[string]string {
	canary := Markers[0] + id
	alnum := Markers[1] + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return 'X'
	}, id)
	pad := func(s string, n int, alphabet string) string {
		for i := 0; len(s) < n; i++ {
			s += string(alphabet[i%len(alphabet)])
		}
		return s[:n]
	}
	upper := strings.ToUpper(alnum)
	b64u := base64.RawURLEncoding.EncodeToString
	jwt := "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0." + b64u([]byte(`{"iss":"kubernetes/serviceaccount","sub":"`+canary+`"}`)) + ".c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
	jwe := "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ." + b64u([]byte(canary+"-cek")) + ".NDhWNVZrUmNBWFNVbTFaVA." + b64u([]byte(canary+"-ciphertext")) + ".dGFnLXRhZy10YWctdGFn"
	der := append([]byte{0x30, 0x82, 0x04, 0xa4, 0x02, 0x01, 0x00}, []byte(canary+"-private-key-material")...)
	// The same material as private keys' DER open, for a key base64'd
	// without a PEM frame: PKCS#1 RSA (version 0, the modulus), PKCS#8
	// RSA (version 0, rsaEncryption, an OCTET STRING), SEC1 EC P-256
	// (version 1, the key).
	rsa1 := append([]byte{0x30, 0x82, 0x04, 0xa4, 0x02, 0x01, 0x00, 0x02, 0x82, 0x01, 0x01, 0x00}, []byte(canary+"-modulus-and-private-exponent")...)
	pkcs8 := append([]byte{0x30, 0x82, 0x04, 0xbd, 0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00, 0x04, 0x82, 0x04, 0xa7}, []byte(canary+"-private-key-info")...)
	// A Ceph key: type 1, a creation time, a length of 16, the key.
	ceph := append([]byte{0x01, 0x00, 0x9e, 0x3f, 0x6a, 0x65, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00}, []byte(pad(canary, 16, "0123456789abcdef"))...)
	sec1 := append([]byte{0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20}, []byte(canary+"-ec-private-key-32")...)
	pem := "-----BEGIN RSA PRIVATE KEY-----\n" + base64.StdEncoding.EncodeToString(der) + "\n-----END RSA PRIVATE KEY-----\n"
	props := "spring.datasource.url=jdbc:postgresql://pg:5432/shop\nspring.datasource.password=" + canary + "\n"
	release, _ := json.Marshal(map[string]any{"name": "shop", "version": 7, "namespace": "shop",
		"chart":  map[string]any{"metadata": map[string]any{"name": "shop", "version": "1.4.0"}},
		"config": map[string]any{"redis": map[string]any{"enabled": true}},
		"manifest": "---\n# Source: shop/templates/secret.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: shop\ntype: Opaque\ndata:\n  redis-url: " +
			base64.StdEncoding.EncodeToString([]byte("redis://:"+canary+"@redis:6379")) + "\n"})
	// Helm 2 kept releases in ConfigMaps: a protobuf (hapi.release.Release)
	// gzip'd and base64'd, its manifest a text field among binary framing.
	manifest := "---\n# Source: shop/templates/secret.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: shop\ntype: Opaque\nstringData:\n  password: " + canary + "\n"
	helm2 := append([]byte{0x0a, 0x04, 's', 'h', 'o', 'p', 0x2a, byte(len(manifest)&0x7f | 0x80), byte(len(manifest) >> 7)}, manifest...)
	helm2 = append(helm2, 0x30, 0x07, 0x3a, 0x04, 's', 'h', 'o', 'p')
	return map[string]string{
		"{{CANARY}}":        canary,
		"{{CANARY_B64}}":    base64.StdEncoding.EncodeToString([]byte(canary)),
		"{{CANARY_B64URL}}": b64u([]byte(canary)),
		"{{CANARY_HEX}}":    hex.EncodeToString([]byte("password=" + canary)),
		"{{JWT}}":           jwt,
		"{{JWT_B64}}":       base64.StdEncoding.EncodeToString([]byte(jwt)),
		"{{JWE}}":           jwe,
		"{{PEM}}":           pem,
		"{{DER_RSA_B64}}":   base64.StdEncoding.EncodeToString(rsa1),
		"{{DER_PKCS8_B64}}": base64.StdEncoding.EncodeToString(pkcs8),
		"{{DER_EC_B64}}":    base64.StdEncoding.EncodeToString(sec1),
		"{{CEPH_KEY}}":      base64.StdEncoding.EncodeToString(ceph),
		"{{AKIA}}":          "AKIA" + pad(upper, 16, "0123456789"),
		"{{AWS_SECRET}}":    pad(alnum, 40, "wJalrXUtnFEMIK7MDENGbPxRfiCY"),
		"{{GHP}}":           "ghp_" + pad(alnum, 36, "a1B2c3D4e5"),
		"{{GHPAT}}":         "github_pat_11" + pad(alnum, 80, "A0b1C2d3_"),
		"{{GLPAT}}":         "glpat-" + pad(alnum, 20, "xY9"),
		"{{SLACK}}":         "xoxb-2048-4096-" + pad(alnum, 24, "aB3"),
		"{{SLACK_HOOK}}":    "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/" + pad(alnum, 24, "q7R"),
		"{{DISCORD}}":       "https://discord.com/api/webhooks/112233445566778899/" + pad(alnum, 68, "Zz_9"),
		"{{STRIPE}}":        "sk_live_" + pad(alnum, 40, "4eC39HqLyjWDarjtT1zdp7dc"),
		"{{GOOGLE}}":        "AIza" + pad(alnum, 35, "SyD-9tSrke72I6e"),
		"{{SENDGRID}}":      "SG." + pad(alnum, 22, "ngeVfQFYQlKU0ufo8x5d1A") + "." + pad(alnum, 43, "TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc-1s5cr"),
		"{{OPENAI}}":        "sk-proj-" + pad(alnum, 48, "T3BlbkFJ"),
		"{{NPM}}":           "npm_" + pad(alnum, 36, "0a1b2c"),
		"{{AZURE_KEY}}":     base64.StdEncoding.EncodeToString([]byte(pad(canary, 64, "azure-storage-key-"))),
		"{{HEX40}}":         pad(hex.EncodeToString([]byte(canary)), 40, "0123456789abcdef"),
		"{{HEX32}}":         hex.EncodeToString([]byte(canary))[:32],
		"{{ALNUM24}}":       pad(alnum, 24, "a1B2c3"),
		"{{TOKEN32}}":       pad(Markers[1]+"9fQ2x7"+alnum[len(Markers[1]):], 32, "a1B2c3"),
		"{{LOWER16}}":       pad(Markers[2]+strings.ToLower(alnum[len(Markers[1]):]), 16, "0123456789"),
		// A random token's shape with one digit: half its letters
		// capitals, as base62 draws them.
		"{{MIXED_1DIGIT}}": Markers[2] + pad(strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' {
				return r - 'a' + 'A'
			}
			return -1
		}, id), 10, "QXZRTWPLMB") + "7",
		"{{B64_PROPS}}":     base64.StdEncoding.EncodeToString([]byte(props)),
		"{{GZ_B64_PROPS}}":  base64.StdEncoding.EncodeToString(gz([]byte(props))),
		"{{HELM_RELEASE}}":  base64.StdEncoding.EncodeToString(gz(release)),
		"{{HELM2_RELEASE}}": base64.StdEncoding.EncodeToString(gz(helm2)),
	}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// Fill substitutes every placeholder of a corpus line (one JSON value),
// also inside strings that are themselves JSON, so that planted values
// with newlines stay valid at every level. Numbers stay json.Number.
func Fill(line []byte, id string) ([]byte, error) {
	vals := Values(id)
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("corpus line: %w", err)
	}
	v = fill(v, vals)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

func fill(v any, vals map[string]string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = fill(e, vals)
		}
	case []any:
		for i, e := range x {
			x[i] = fill(e, vals)
		}
	case string:
		if !strings.Contains(x, "{{") {
			return x
		}
		plain := x
		for k, s := range vals {
			plain = strings.ReplaceAll(plain, k, s)
		}
		t := strings.TrimSpace(x)
		// Only JSON that a planted value would break (a PEM's newlines) is
		// decoded and encoded again: anything else keeps its exact bytes,
		// duplicate keys included.
		if len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid([]byte(x)) && !json.Valid([]byte(plain)) {
			dec := json.NewDecoder(strings.NewReader(x))
			dec.UseNumber()
			var inner any
			if err := dec.Decode(&inner); err == nil && !dec.More() {
				var b bytes.Buffer
				enc := json.NewEncoder(&b)
				enc.SetEscapeHTML(false)
				if enc.Encode(fill(inner, vals)) == nil {
					out := strings.TrimRight(b.String(), "\n")
					if strings.HasSuffix(x, "\n") {
						out += "\n"
					}
					return out
				}
			}
		}
		return plain
	}
	return v
}
