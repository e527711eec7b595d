package instrumentation

import "testing"

func TestCaptureString(t *testing.T) {
	for c, want := range map[Capture]string{
		CaptureDefault: "default", CaptureOff: "off", CaptureSummary: "summary", CaptureFull: "full", Capture(9): "Capture(9)",
	} {
		if got := c.String(); got != want {
			t.Errorf("Capture(%d).String() = %q, want %q", uint8(c), got, want)
		}
	}
}
