package instrumentation_test

import "testing"

func TestSecretNameRules(t *testing.T) {
	tests := []struct {
		name   string
		secret bool
	}{
		{"password", true}, {"Password", true}, {"newPassword", true}, {"new_password", true},
		{"NEW-PASSWORD", true}, {"password_hash", true}, {"passwd", true}, {"passcode", true},
		{"X-Api-Key", true}, {"api_key", true}, {"apiKey", true}, {"APIKey", true}, {"apikey", true},
		{"accessToken", true}, {"refresh_token", true}, {"clientSecret", true}, {"credentials", true},
		{"otp", true}, {"OTP", true}, {"otpCode", true}, {"userOTPCode", true}, {"otp_code", true},
		{"pin", true}, {"PIN", true}, {"cardPin", true}, {"pin_code", true}, {"Pin2", true},
		{"cvv", true}, {"CVV2", true}, {"cvc", true}, {"authorization", true}, {"Authorization", true},
		{"cookie", true}, {"Set-Cookie", true}, {"session_id", true}, {"sessionToken", true},
		{"private_key", true}, {"privateKey", true}, {"PRIVATE KEY", true},
		// Plurals of the short names, one-word spellings, and the collector's
		// own key patterns.
		{"OTPs", true}, {"backupOTPs", true}, {"backup_otps", true}, {"PINs", true}, {"cardPins", true},
		{"otpcode", true}, {"cardcvv", true}, {"cvvCode", true}, {"pwd", true}, {"db_pwd", true}, {"Pwd", true},
		{"AccessKey", true}, {"aws_access_key_id", true}, {"MFACode", true}, {"VerificationCode", true},
		{"sms_code", true}, {"security_code", true}, {"cardSecurityCode", true}, {"recoveryCodes", true},
		{"backup_code", true}, {"sessionJwt", true}, {"jwt", true},
		// otp glued to one side of a word, as lowercase keys write it.
		{"sendotp", true}, {"smsotp", true}, {"otpvalue", true}, {"SMSOTP", true}, {"lastotps", true},

		{"name", false}, {"email", false}, {"shipping", false}, {"pinned", false}, {"spinner", false},
		{"opinion", false}, {"footprint", false}, {"hotpot", false}, {"author", false}, {"keyboard", false},
		{"api_version", false}, {"description", false}, {"points", false}, {"tier", false},
		{"pins_total", true}, {"OTPsent", false}, {"jackpot_prize", false}, {"depot", false}, {"opins", false}, {"spins", false}, {"sessions", true},
	}
	r, _ := newTestRecorder(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := r.Diff(map[string]string{tt.name: "old-value"}, map[string]string{tt.name: "new-value"})
			if got := len(ch) == 0; got != tt.secret {
				t.Errorf("got secret=%v for %q, want %v", got, tt.name, tt.secret)
			}
			type holder struct{ V map[string]string }
			ch = r.Diff(holder{map[string]string{tt.name: "a"}}, holder{map[string]string{tt.name: "b"}})
			if got := len(ch) == 0; got != tt.secret {
				t.Errorf("nested: got secret=%v for %q, want %v", got, tt.name, tt.secret)
			}
		})
	}
}
