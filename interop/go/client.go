// The interop matrix's cases (interop/CASES.md) from grpc-go (Debian's
// golang-google-grpc-dev, built in GOPATH mode by setup.sh).
//
// Usage: client CASE HOST:PORT   (YES_TLS_CA=ca.pem for the tls case)
//        client cases            (lists the cases it knows)
//        client load HOST:PORT BYTES SECONDS   (the benchmark's load: one
//        YesWithFc stream of BYTES-byte replies read as fast as it comes;
//        after a second's warm-up prints msgs=N bytes=B seconds=S total=T)
//
// yes.YesRequest and yes.YesReply have one string field each, so they are
// encoded by hand (a grpc-go codec of our own, forced on our calls) rather
// than through generated code; the health and reflection clients are
// grpc-go's own.
package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/ioutil"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding/gzip"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
)

// message is yes.YesRequest or yes.YesReply: field 1, a string.
type message struct{ text string }

type codec struct{}

func (codec) Name() string { return "proto" }

func (codec) Marshal(v interface{}) ([]byte, error) {
	text := v.(*message).text
	out := []byte{}
	if text != "" {
		out = append(out, 0x0a)
		out = appendVarint(out, uint64(len(text)))
		out = append(out, text...)
	}
	return out, nil
}

func (codec) Unmarshal(data []byte, v interface{}) error {
	m := v.(*message)
	for len(data) > 0 {
		key, n := varint(data)
		if n == 0 {
			return errors.New("bad field key")
		}
		data = data[n:]
		switch key & 7 {
		case 0:
			_, n = varint(data)
		case 1:
			n = 8
		case 2:
			l, k := varint(data)
			if k == 0 || uint64(len(data)-k) < l {
				return errors.New("bad length")
			}
			if key>>3 == 1 {
				m.text = string(data[k : k+int(l)])
			}
			n = k + int(l)
		case 5:
			n = 4
		default:
			return errors.New("bad wire type")
		}
		if n == 0 || n > len(data) {
			return errors.New("truncated field")
		}
		data = data[n:]
	}
	return nil
}

func appendVarint(out []byte, v uint64) []byte {
	for v >= 0x80 {
		out = append(out, byte(v)|0x80)
		v >>= 7
	}
	return append(out, byte(v))
}

func varint(data []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(data) && i < 10; i++ {
		v |= uint64(data[i]&0x7f) << (7 * uint(i))
		if data[i] < 0x80 {
			return v, i + 1
		}
	}
	return 0, 0
}

type fail string

// call opens a server-streaming call of `method` with request `text`.
func call(ctx context.Context, cc *grpc.ClientConn, method, text string, opts ...grpc.CallOption) grpc.ClientStream {
	opts = append(opts, grpc.ForceCodec(codec{}))
	stream, err := cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method, opts...)
	if err != nil {
		panic(fail(fmt.Sprintf("%s: %v", method, err)))
	}
	if err := stream.SendMsg(&message{text}); err != nil && err != io.EOF {
		panic(fail(fmt.Sprintf("send: %v", err)))
	}
	if err := stream.CloseSend(); err != nil {
		panic(fail(fmt.Sprintf("close send: %v", err)))
	}
	return stream
}

func yes(ctx context.Context, cc *grpc.ClientConn, text string, opts ...grpc.CallOption) grpc.ClientStream {
	return call(ctx, cc, "/yes.SayYes/YesWithFc", text, opts...)
}

// read reads n replies, each of which must be `want`.
func read(stream grpc.ClientStream, n int, want string) {
	for i := 0; i < n; i++ {
		var reply message
		if err := stream.RecvMsg(&reply); err != nil {
			panic(fail(fmt.Sprintf("reply %d: %v", i, err)))
		}
		if reply.text != want {
			panic(fail(fmt.Sprintf("reply %d: %d bytes, not the %d expected", i, len(reply.text), len(want))))
		}
	}
}

// expectCode reads until the stream fails, with `code`; returns the replies read and the error.
func expectCode(stream grpc.ClientStream, code codes.Code) (int, error) {
	for count := 0; ; count++ {
		var reply message
		if err := stream.RecvMsg(&reply); err != nil {
			if status.Code(err) != code {
				panic(fail(fmt.Sprintf("%v instead of %v, after %d replies", err, code, count)))
			}
			return count, err
		}
	}
}

func check(ok bool, what string, args ...interface{}) {
	if !ok {
		panic(fail(fmt.Sprintf(what, args...)))
	}
}

var cases = map[string]func(context.Context, *grpc.ClientConn) string{
	"default-reply": func(ctx context.Context, cc *grpc.ClientConn) string {
		read(yes(ctx, cc, ""), 3, "yes")
		return "3 replies of 'yes'"
	},
	"echo": func(ctx context.Context, cc *grpc.ClientConn) string {
		for _, text := range []string{"hello interop", "はい — да — 👍", strings.Repeat("a", 1<<20)} {
			c, cancel := context.WithCancel(ctx)
			read(yes(c, cc, text), 2, text)
			cancel()
		}
		return "custom, UTF-8 and 1 MiB messages echoed intact"
	},
	"cancel-then-new-call": func(ctx context.Context, cc *grpc.ClientConn) string {
		c, cancel := context.WithCancel(ctx)
		first := yes(c, cc, "first")
		read(first, 10, "first")
		cancel()
		expectCode(first, codes.Canceled)
		read(yes(ctx, cc, "again"), 3, "again")
		return "10 replies, cancelled, then a new call on the same channel"
	},
	"deadline": func(ctx context.Context, cc *grpc.ClientConn) string {
		started := time.Now()
		c, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		count, _ := expectCode(yes(c, cc, ""), codes.DeadlineExceeded)
		took := time.Since(started)
		check(count > 0 && took >= 250*time.Millisecond && took <= 5*time.Second, "%d replies in %v", count, took)
		return fmt.Sprintf("DEADLINE_EXCEEDED after %d ms and %d replies", took.Milliseconds(), count)
	},
	"unimplemented": func(ctx context.Context, cc *grpc.ClientConn) string {
		expectCode(call(ctx, cc, "/yes.SayYes/NoSuchMethod", ""), codes.Unimplemented)
		return "UNIMPLEMENTED"
	},
	"slow-reader": func(ctx context.Context, cc *grpc.ClientConn) string {
		c, cancel := context.WithCancel(ctx)
		defer cancel()
		stream := yes(c, cc, "slow")
		count := 0
		for until := time.Now().Add(3 * time.Second); time.Now().Before(until); count++ {
			read(stream, 1, "slow")
			time.Sleep(10 * time.Millisecond)
		}
		return fmt.Sprintf("%d replies read at 100 a second, all right", count)
	},
	"concurrent": func(ctx context.Context, cc *grpc.ClientConn) string {
		var wg sync.WaitGroup
		failures := make(chan interface{}, 20)
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				defer func() {
					if r := recover(); r != nil {
						failures <- r
					}
				}()
				c, cancel := context.WithCancel(ctx)
				defer cancel()
				text := fmt.Sprintf("c%d", i)
				read(yes(c, cc, text), 100, text)
			}(i)
		}
		wg.Wait()
		close(failures)
		for r := range failures {
			panic(r)
		}
		return "20 streams on one channel, 100 replies each"
	},
	"gzip": func(ctx context.Context, cc *grpc.ClientConn) string {
		read(yes(ctx, cc, "gzip", grpc.UseCompressor(gzip.Name)), 3, "gzip")
		return "gzip request, 3 replies"
	},
	"naive-echo": func(ctx context.Context, cc *grpc.ClientConn) string {
		read(call(ctx, cc, "/yes.SayYes/Yes", "naive"), 3, "naive")
		return "Yes echoed 3 replies"
	},
	"health": func(ctx context.Context, cc *grpc.ClientConn) string {
		health := healthpb.NewHealthClient(cc)
		for _, service := range []string{"", "yes.SayYes"} {
			r, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
			check(err == nil, "Check(%q): %v", service, err)
			check(r.Status == healthpb.HealthCheckResponse_SERVING, "Check(%q) = %v", service, r.Status)
		}
		watch, err := health.Watch(ctx, &healthpb.HealthCheckRequest{Service: "yes.SayYes"})
		check(err == nil, "Watch: %v", err)
		seen := []string{}
		for {
			update, err := watch.Recv()
			check(err == nil, "Watch ended after %v: %v", seen, err)
			seen = append(seen, update.Status.String())
			if len(seen) == 1 {
				check(update.Status == healthpb.HealthCheckResponse_SERVING, "Watch began with %v", seen)
				fmt.Println("streaming")
			} else if update.Status == healthpb.HealthCheckResponse_NOT_SERVING {
				return "Check SERVING twice; Watch SERVING, then NOT_SERVING on shutdown"
			}
		}
	},
	"reflection": func(ctx context.Context, cc *grpc.ClientConn) string {
		stream, err := rpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
		check(err == nil, "ServerReflectionInfo: %v", err)
		err = stream.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}})
		check(err == nil, "send: %v", err)
		response, err := stream.Recv()
		check(err == nil, "receive: %v", err)
		names := []string{}
		for _, s := range response.GetListServicesResponse().GetService() {
			names = append(names, s.Name)
		}
		listed := strings.Join(names, ", ")
		check(strings.Contains(listed, "yes.SayYes") && strings.Contains(listed, "grpc.health.v1.Health"), "listed %s", listed)
		return "listed " + listed
	},
	"tls": func(ctx context.Context, cc *grpc.ClientConn) string {
		read(yes(ctx, cc, ""), 3, "yes")
		return "3 replies of 'yes' over TLS"
	},
	"sigterm": func(ctx context.Context, cc *grpc.ClientConn) string {
		stream := yes(ctx, cc, "until shutdown")
		read(stream, 10, "until shutdown")
		fmt.Println("streaming")
		count, err := expectCode(stream, codes.Unavailable)
		return fmt.Sprintf("UNAVAILABLE (%s) after %d more replies", status.Convert(err).Message(), count)
	},
}

func load(target string, size int, seconds float64) {
	cc, err := grpc.Dial(target, grpc.WithInsecure(),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(8<<20)))
	if err != nil {
		panic(err)
	}
	var msgs, bytes int64
	var mu sync.Mutex
	stream := yes(context.Background(), cc, strings.Repeat("y", size))
	go func() {
		for {
			var reply message
			if stream.RecvMsg(&reply) != nil {
				return
			}
			mu.Lock()
			msgs++
			bytes += int64(len(reply.text))
			mu.Unlock()
		}
	}()
	snapshot := func() (int64, int64) {
		mu.Lock()
		defer mu.Unlock()
		return msgs, bytes
	}
	time.Sleep(time.Second)
	m0, b0 := snapshot()
	started := time.Now()
	time.Sleep(time.Duration(seconds * float64(time.Second)))
	m, b := snapshot()
	fmt.Printf("msgs=%d bytes=%d seconds=%.3f total=%d\n", m-m0, b-b0, time.Since(started).Seconds(), m)
	os.Exit(0)
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "cases" {
		for name := range cases {
			fmt.Println(name)
		}
		return
	}
	name, target := os.Args[1], os.Args[2]
	if name == "load" {
		var size int
		var seconds float64
		fmt.Sscan(os.Args[3], &size)
		fmt.Sscan(os.Args[4], &seconds)
		load(target, size, seconds)
	}
	run, ok := cases[name]
	if !ok {
		fmt.Printf("N/A %s: no such case in this client\n", name)
		return
	}
	creds := grpc.WithInsecure()
	if name == "tls" {
		pem, err := ioutil.ReadFile(os.Getenv("YES_TLS_CA"))
		if err != nil {
			fmt.Printf("FAIL %s: %v\n", name, err)
			os.Exit(1)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		creds = grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(pool, "localhost"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cc, err := grpc.DialContext(ctx, target, creds,
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(8<<20), grpc.MaxCallSendMsgSize(8<<20)))
	if err != nil {
		fmt.Printf("FAIL %s: dial: %v\n", name, err)
		os.Exit(1)
	}
	defer cc.Close()
	defer func() {
		if r := recover(); r != nil {
			fmt.Printf("FAIL %s: %v\n", name, r)
			os.Exit(1)
		}
	}()
	detail := run(ctx, cc)
	fmt.Printf("PASS %s: %s\n", name, detail)
}
