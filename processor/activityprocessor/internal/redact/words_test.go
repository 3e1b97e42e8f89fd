package redact

import "testing"

// TestShortPatternsMatchWords: a key pattern of fewer than five letters and
// digits matches only whole words of a key (or their plural), so that it
// does not match inside ordinary words; "cvv", "pwd", "jwt" and "iban"
// match anywhere. Also in the name of a pair inside a string.
func TestShortPatternsMatchWords(t *testing.T) {
	cfg := testConfig()
	cfg.KeyPatterns = append(cfg.KeyPatterns, "ssn", "pin", "cvv", "pwd", "jwt", "iban")
	cfg.OTPKeyPatterns = append(cfg.OTPKeyPatterns, "2fa")
	r := mustNew(t, cfg)
	tests := []struct {
		key              string
		wantKey, wantOTP bool
	}{
		{"ssn", true, false},
		{"customerSSN", true, false},
		{"customer_ssn", true, false},
		{"ssn4", true, false},
		{"SSNs", true, false},
		{"businessName", false, false},
		{"className", false, false},
		{"accessNumber", false, false},
		{"pin", true, false},
		{"cardPIN", true, false},
		{"PINCode", true, false},
		{"pins", true, false},
		{"user[pin]", true, false},
		{"user%5Bpin%5D", true, false},
		{"ｐｉｎ", true, false},
		{"shipping", false, false},
		{"spinner", false, false},
		{"pinsetter", false, false},
		{"cardcvv", true, false},
		{"dbpwd", true, false},
		{"sessionjwt", true, false},
		{"payeeiban", true, false},
		{"otp", false, true},
		{"otpCode", false, true},
		{"userOTPs", false, true},
		{"OTP_CODE", false, true},
		{"jackpot_prize", false, false},
		{"slot_position", false, false},
		{"lot_price", false, false},
		{"depot_phone", false, false},
		// otp and ssn also match glued to one side of a word, as
		// lowercase keys write them: no ordinary word starts or ends so.
		{"customerssn", true, false},
		{"ssnlast4", true, false},
		{"sendotp", false, true},
		{"smsotp", false, true},
		{"otpvalue", false, true},
		{"SMSOTP", false, true},
		// pin does not: spin, hairpin, pinned, pinball.
		{"spin", false, false},
		{"pinned", false, false},
		{"2fa_code", false, true},
		{"twoFA2fa", false, true},
		{"x2fab", false, false},
	}
	for _, tt := range tests {
		key, otp := r.classify(tt.key)
		if key != tt.wantKey || otp != tt.wantOTP {
			t.Errorf("classify(%q): got key %v, otp %v, want %v, %v", tt.key, key, otp, tt.wantKey, tt.wantOTP)
		}
	}
}
