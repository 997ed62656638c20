// cri-go-client: the relist and status calls of the side-by-side benchmark, made by grpc-go, the
// library kubelet is built on. It reads a plan as JSON on stdin, runs it against every runtime in
// turns, round by round, and writes each call's latencies in milliseconds as JSON on stdout.
//
// Requests and replies stay bytes (a codec that passes them through): the figures are the
// transport's and the runtime's, without message decoding that kubelet would do alike for both.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
)

type pod struct {
	Pod       string `json:"pod"`
	Container string `json:"container"`
}

type target struct {
	Name   string `json:"name"`
	Socket string `json:"socket"`
	Pods   []pod  `json:"pods"`
	// The :authority to send; "localhost" when empty, as kubelet 1.31 and later send it. Older
	// kubelets dialled unix:///path and sent the socket path.
	Authority string `json:"authority"`
}

type plan struct {
	Targets []target `json:"targets"`
	Rounds  int      `json:"rounds"`
	Warmup  int      `json:"warmup"`
	// Every how many counted rounds ListContainerStats and ImageFsInfo are called too.
	StatsEvery int `json:"statsEvery"`
	// The same in the warm-up rounds (0: never), so that those calls' paths are warm as well.
	WarmupStatsEvery int `json:"warmupStatsEvery"`
}

type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	*(v.(*[]byte)) = append((*(v.(*[]byte)))[:0], data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// stringField1 is a message whose field 1 is the given string: the id of every Status request.
func stringField1(s string) []byte {
	out := []byte{0x0a}
	n := len(s)
	for n >= 0x80 {
		out = append(out, byte(n)|0x80)
		n >>= 7
	}
	out = append(out, byte(n))
	return append(out, s...)
}

const (
	service      = "/runtime.v1.RuntimeService/"
	imageService = "/runtime.v1.ImageService/"
)

type runtimeConn struct {
	t       target
	conn    *grpc.ClientConn
	samples map[string][]float64
}

func (r *runtimeConn) call(method string, req []byte) error {
	return r.callOn(service, method, req)
}

func (r *runtimeConn) callOn(svc string, method string, req []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reply := []byte{}
	if err := r.conn.Invoke(ctx, svc+method, &req, &reply, grpc.ForceCodec(rawCodec{})); err != nil {
		return fmt.Errorf("%s on %s: %w", method, r.t.Name, err)
	}
	return nil
}

func (r *runtimeConn) timed(key string, count bool, fn func() error) error {
	t0 := time.Now()
	if err := fn(); err != nil {
		return err
	}
	if count {
		r.samples[key] = append(r.samples[key], float64(time.Since(t0).Nanoseconds())/1e6)
	}
	return nil
}

func (r *runtimeConn) round(i int, count bool, stats bool) error {
	p := r.t.Pods[i%len(r.t.Pods)]
	empty := []byte{}
	if err := r.timed("ListPodSandbox+ListContainers", count, func() error {
		if err := r.call("ListPodSandbox", empty); err != nil {
			return err
		}
		return r.call("ListContainers", empty)
	}); err != nil {
		return err
	}
	if err := r.timed("PodSandboxStatus", count, func() error { return r.call("PodSandboxStatus", stringField1(p.Pod)) }); err != nil {
		return err
	}
	if err := r.timed("ContainerStatus", count, func() error { return r.call("ContainerStatus", stringField1(p.Container)) }); err != nil {
		return err
	}
	// kubelet's image manager asks every few seconds; here every round, as cheap as a status call,
	// so that its p99 has as many calls behind it as theirs.
	if err := r.timed("ListImages", count, func() error { return r.callOn(imageService, "ListImages", empty) }); err != nil {
		return err
	}
	if !stats {
		return nil
	}
	if err := r.timed("ListContainerStats", count, func() error { return r.call("ListContainerStats", empty) }); err != nil {
		return err
	}
	// Asked for every few seconds by kubelet's eviction manager, with the stats here.
	return r.timed("ImageFsInfo", count, func() error { return r.callOn(imageService, "ImageFsInfo", empty) })
}

func run() error {
	var p plan
	if err := json.NewDecoder(os.Stdin).Decode(&p); err != nil {
		return fmt.Errorf("reading the plan: %w", err)
	}
	if p.StatsEvery <= 0 {
		p.StatsEvery = 4
	}
	conns := make([]*runtimeConn, 0, len(p.Targets))
	for _, t := range p.Targets {
		if len(t.Pods) == 0 {
			return fmt.Errorf("%s: no pods in the plan", t.Name)
		}
		socket := t.Socket
		authority := t.Authority
		if authority == "" {
			authority = "localhost"
		}
		dial := func(ctx context.Context, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}
		conn, err := grpc.Dial("passthrough:///localhost", grpc.WithInsecure(), grpc.WithBlock(), grpc.WithTimeout(10*time.Second), grpc.WithContextDialer(dial), grpc.WithAuthority(authority))
		if err != nil {
			return fmt.Errorf("connecting to %s at %s: %w", t.Name, t.Socket, err)
		}
		defer conn.Close()
		conns = append(conns, &runtimeConn{t: t, conn: conn, samples: map[string][]float64{}})
	}
	for r := -p.Warmup; r < p.Rounds; r++ {
		order := conns
		if r%2 != 0 {
			order = make([]*runtimeConn, len(conns))
			for i, c := range conns {
				order[len(conns)-1-i] = c
			}
		}
		for _, c := range order {
			stats := r >= 0 && r%p.StatsEvery == 0
			if r < 0 {
				stats = p.WarmupStatsEvery > 0 && r%p.WarmupStatsEvery == 0
			}
			if err := c.round(r+p.Warmup, r >= 0, stats); err != nil {
				return err
			}
		}
	}
	out := map[string]map[string][]float64{}
	for _, c := range conns {
		out[c.t.Name] = c.samples
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cri-go-client:", err)
		os.Exit(1)
	}
}
