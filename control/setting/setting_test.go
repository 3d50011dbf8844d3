package setting

import "testing"

func TestParsePolicy(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    Policy
		wantErr bool
	}{
		{in: "gputune", want: Policy{Kind: PolicyGPUTune}},
		{in: "agft", want: Policy{Kind: PolicyAGFT}},
		{in: "default", want: Policy{Kind: PolicyDefault}},
		{in: "static:1500", want: StaticPolicy(1500)},
		{in: "static", wantErr: true},
		{in: "static:0", wantErr: true},
		{in: "static:fast", wantErr: true},
		{in: "GPUTUNE", wantErr: true},
		{in: "", wantErr: true},
	} {
		got, err := ParsePolicy(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParsePolicy(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("ParsePolicy(%q).String() = %q", tt.in, got.String())
		}
	}
}

func TestParseTPOTSource(t *testing.T) {
	for in, want := range map[string]TPOTSource{"inter-token": TPOTInterToken, "per-request": TPOTPerRequest} {
		if got, err := ParseTPOTSource(in); err != nil || got != want {
			t.Errorf("ParseTPOTSource(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseTPOTSource("itl"); err == nil {
		t.Error("ParseTPOTSource(itl): no error")
	}
}
