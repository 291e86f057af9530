package loki

import (
	"bytes"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"github.com/klauspost/compress/s2"
)

// testStreams builds streams shaped like a flush's: a few label sets,
// entries with a ~1 KB JSON line and a dozen metadata pairs.
func testStreams(r *rand.Rand, streams, entries int) []push.Stream {
	out := make([]push.Stream, streams)
	base := time.Date(2026, 5, 14, 9, 0, 0, 0, time.UTC)
	for i := range out {
		out[i].Labels = fmt.Sprintf(`{cluster="prod", job="kube-audit", severity="s%d"}`, i)
		for k := range entries {
			line := fmt.Sprintf(`{"apiVersion":"audit.k8s.io/v1","auditID":"%08x-1d1f-4e63-9c55-%012x","kind":"Event","level":"Metadata","objectRef":{"name":"obj-%d","namespace":"ns-%d","resource":"pods"},"requestURI":"/api/v1/namespaces/ns-%d/pods/obj-%d","stage":"ResponseComplete","user":{"username":"system:serviceaccount:kube-system:replicaset-controller"},"verb":"get"}`, r.Uint32(), k, k, k%7, k%7, k)
			e := push.Entry{Timestamp: base.Add(time.Duration(r.Int63n(int64(time.Hour)))), Line: line}
			for m := range r.Intn(13) {
				e.StructuredMetadata = append(e.StructuredMetadata, push.LabelAdapter{Name: fmt.Sprintf("k%d", m), Value: fmt.Sprint(r.Intn(1 << (m * 4)))})
			}
			out[i].Entries = append(out[i].Entries, e)
		}
	}
	return out
}

func generatedMarshal(t testing.TB, streams []push.Stream) []byte {
	req := push.PushRequest{Streams: streams}
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// marshalRequest writes exactly what push.PushRequest's generated Marshal
// writes, including the corners: empty lines and names, zero and
// pre-epoch timestamps, whole seconds, stream hashes, parsed labels.
func TestMarshalMatchesGenerated(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	cases := [][]push.Stream{
		nil,
		{{}},
		{{Labels: `{a="b"}`, Entries: []push.Entry{{}}}},
		{{Labels: `{a="b"}`, Hash: 1 << 40, Entries: []push.Entry{
			{Timestamp: time.Unix(0, 0)},
			{Timestamp: time.Unix(-5, 7), Line: "x"},
			{Timestamp: time.Unix(1700000000, 0), Line: string(make([]byte, 300))},
			{Timestamp: time.Unix(1, 999999999), StructuredMetadata: push.LabelsAdapter{{Name: "", Value: "v"}, {Name: "n", Value: ""}}},
			{Timestamp: time.Unix(2, 1), Parsed: push.LabelsAdapter{{Name: "p", Value: "q"}}},
		}}},
		testStreams(r, 1, 1),
		testStreams(r, 3, 200),
	}
	for i, streams := range cases {
		want := generatedMarshal(t, streams)
		got := make([]byte, requestSize(streams))
		marshalRequest(got, streams)
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d: %d bytes differ from the generated Marshal's %d", i, len(got), len(want))
		}
	}
}

// The body is snappy block format: golang/snappy (what Loki decodes with)
// reads it back into the same request.
func TestEncodeBodyRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for range 3 { // the second and third reuse the pooled buffers
		streams := testStreams(r, 2, 300)
		body := encodeBody(streams)
		pb, err := snappy.Decode(nil, body)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(pb, generatedMarshal(t, streams)) {
			t.Fatal("decoded body differs from the generated Marshal")
		}
		var req push.PushRequest
		if err := req.Unmarshal(pb); err != nil || len(req.Streams) != 2 || len(req.Streams[1].Entries) != 300 {
			t.Fatalf("unmarshal: %v", err)
		}
	}
}

func FuzzMarshal(f *testing.F) {
	f.Add(int64(1), uint8(2), uint8(3))
	f.Fuzz(func(t *testing.T, seed int64, streams, entries uint8) {
		s := testStreams(rand.New(rand.NewSource(seed)), int(streams%4), int(entries%20))
		got := make([]byte, requestSize(s))
		marshalRequest(got, s)
		if !bytes.Equal(got, generatedMarshal(t, s)) {
			t.Fatal("differs from the generated Marshal")
		}
	})
}

// A request of 500 entries (one chunk's worth): what a flush did before
// (generated Marshal + golang/snappy into fresh buffers), each of the two
// snappy encoders, and encodeBody.
func BenchmarkEncode(b *testing.B) {
	streams := testStreams(rand.New(rand.NewSource(3)), 1, 500)
	pb := generatedMarshal(b, streams)
	b.Run("generated+snappy", func(b *testing.B) {
		b.SetBytes(int64(len(pb)))
		b.ReportAllocs()
		for b.Loop() {
			req := push.PushRequest{Streams: streams}
			p, _ := req.Marshal()
			_ = snappy.Encode(nil, p)
		}
	})
	b.Run("marshal", func(b *testing.B) {
		b.SetBytes(int64(len(pb)))
		b.ReportAllocs()
		buf := make([]byte, len(pb))
		for b.Loop() {
			marshalRequest(buf[:requestSize(streams)], streams)
		}
	})
	b.Run("golang-snappy", func(b *testing.B) {
		b.SetBytes(int64(len(pb)))
		dst := make([]byte, snappy.MaxEncodedLen(len(pb)))
		for b.Loop() {
			_ = snappy.Encode(dst, pb)
		}
	})
	b.Run("s2-EncodeSnappy", func(b *testing.B) {
		b.SetBytes(int64(len(pb)))
		dst := make([]byte, s2.MaxEncodedLen(len(pb)))
		for b.Loop() {
			_ = s2.EncodeSnappy(dst, pb)
		}
	})
	b.Run("encodeBody", func(b *testing.B) {
		b.SetBytes(int64(len(pb)))
		b.ReportAllocs()
		for b.Loop() {
			_ = encodeBody(streams)
		}
	})
	b.ReportMetric(float64(len(snappy.Encode(nil, pb)))/float64(len(pb)), "snappy-ratio")
	b.ReportMetric(float64(len(s2.EncodeSnappy(nil, pb)))/float64(len(pb)), "s2-ratio")
}
