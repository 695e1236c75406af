package bench

import (
	"os"
	"testing"
)

// A /proc/<pid>/stat line whose command name holds spaces and parentheses; utime is 1520
// and stime 337 ticks (fields 14 and 15).
const statFixture = "4242 (fault line (v2)) S 1 4242 4242 0 -1 4194560 183342 0 12 0 1520 337 7 2 20 0 14 0 139533 2147483648 98304 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"

const statusFixture = `Name:	faultline
Umask:	0022
State:	S (sleeping)
Tgid:	4242
Pid:	4242
PPid:	1
VmPeak:	 2461312 kB
VmSize:	 2392064 kB
VmLck:	       0 kB
VmPin:	       0 kB
VmHWM:	  524288 kB
VmRSS:	  409600 kB
RssAnon:	  401000 kB
Threads:	14
`

func TestParseProcStat(t *testing.T) {
	for _, tc := range []struct {
		name       string
		text       string
		utime, sys uint64
		wantErr    bool
	}{
		{name: "parentheses and spaces in comm", text: statFixture, utime: 1520, sys: 337},
		{name: "plain comm", text: "22923 (cat) R 22919 22919 6355 0 -1 4194304 101 0 0 0 3 1 0 0 20 0 1 0 139533 3133440 405", utime: 3, sys: 1},
		{name: "no closing paren", text: "1 (cat R 1 2 3", wantErr: true},
		{name: "truncated", text: "1 (cat) R 1 2 3 4 5 6 7 8 9 10", wantErr: true},
		{name: "non-numeric utime", text: "1 (cat) R 1 1 1 0 -1 0 0 0 0 0 x 1 0 0", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := ParseProcStat(tc.text)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("ParseProcStat: want error, got %+v", st)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseProcStat: %v", err)
			}
			if st.UTimeTicks != tc.utime || st.STimeTicks != tc.sys {
				t.Fatalf("got utime=%d stime=%d, want %d %d", st.UTimeTicks, st.STimeTicks, tc.utime, tc.sys)
			}
			if st.Ticks() != tc.utime+tc.sys {
				t.Fatalf("Ticks() = %d, want %d", st.Ticks(), tc.utime+tc.sys)
			}
		})
	}
}

func TestParseStatusKB(t *testing.T) {
	hwm, err := ParseStatusKB(statusFixture, "VmHWM")
	if err != nil {
		t.Fatal(err)
	}
	if hwm != 524288*1024 {
		t.Fatalf("VmHWM = %d bytes, want %d", hwm, 524288*1024)
	}
	rss, err := ParseStatusKB(statusFixture, "VmRSS")
	if err != nil {
		t.Fatal(err)
	}
	if rss != 409600*1024 {
		t.Fatalf("VmRSS = %d bytes, want %d", rss, 409600*1024)
	}
	if _, err := ParseStatusKB(statusFixture, "VmSwap"); err == nil {
		t.Fatal("missing key: want error")
	}
	if _, err := ParseStatusKB("VmHWM:\t12 MB\n", "VmHWM"); err == nil {
		t.Fatal("unit other than kB: want error")
	}
	// "VmHWM" must not match a longer key that starts with it.
	if _, err := ParseStatusKB("VmHWMx:\t12 kB\n", "VmHWM"); err == nil {
		t.Fatal("prefix of another key: want error")
	}
}

func TestProcSampleCPUSeconds(t *testing.T) {
	s := ProcSample{CPUTicks: 1857, ClockTick: 100}
	if got := s.CPUSeconds(); got != 18.57 {
		t.Fatalf("CPUSeconds = %v, want 18.57", got)
	}
}

// ReadProc on this test process: the real files parse and the numbers are plausible.
func TestReadProcSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	s, err := ReadProc(os.Getpid(), ClockTicks())
	if err != nil {
		t.Fatal(err)
	}
	if s.PeakRSS == 0 || s.RSS == 0 || s.PeakRSS < s.RSS {
		t.Fatalf("implausible memory: peak %d, rss %d", s.PeakRSS, s.RSS)
	}
}

func FuzzParseProcStat(f *testing.F) {
	f.Add(statFixture)
	f.Add("1 (a) R")
	f.Fuzz(func(_ *testing.T, s string) { _, _ = ParseProcStat(s) })
}
