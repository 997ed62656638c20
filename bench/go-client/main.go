// cri-go-client: the relist and status calls of the side-by-side benchmark, and its kubelet-shaped
// pod lifecycles, made by grpc-go, the library kubelet is built on. It reads a plan as JSON on
// stdin, runs it against every runtime (the relist in turns, round by round; the lifecycles one
// runtime after the other), and writes each call's latencies in milliseconds as JSON on stdout.
//
// Requests and replies stay bytes (a codec that passes them through): the figures are the
// transport's and the runtime's, without message decoding that kubelet would do alike for both.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
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

// The requests of one pod lifecycle that only the caller can make (its pod's configuration); the
// ids the runtime answers with go into the rest. JSON carries the bytes as base64.
type lifecycle struct {
	// RunPodSandboxRequest, whole.
	Run []byte `json:"run"`
	// CreateContainerRequest without its pod_sandbox_id (field 1), which is put in front.
	Create []byte `json:"create"`
}

type target struct {
	Name   string `json:"name"`
	Socket string `json:"socket"`
	// The relist's pods, made beforehand.
	Pods []pod `json:"pods"`
	// The lifecycles to run, the warm-up's first.
	Lifecycles []lifecycle `json:"lifecycles"`
	// The :authority to send; "localhost" when empty, as kubelet 1.31 and later send it. Older
	// kubelets dialled unix:///path and sent the socket path.
	Authority string `json:"authority"`
}

type plan struct {
	// "relist" (the default) or "lifecycle".
	Mode    string   `json:"mode"`
	Targets []target `json:"targets"`
	Rounds  int      `json:"rounds"`
	// Rounds, or lifecycles, run first and not counted.
	Warmup int `json:"warmup"`
	// StopContainer's grace period in a lifecycle, seconds.
	StopTimeout int `json:"stopTimeout"`
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
	out := binary.AppendUvarint([]byte{0x0a}, uint64(len(s)))
	return append(out, s...)
}

// varintField is the encoding of an integer field.
func varintField(field int, v uint64) []byte {
	return binary.AppendUvarint(binary.AppendUvarint(nil, uint64(field)<<3), v)
}

// firstString reads field 1, a string, of a message: the id in RunPodSandbox's and
// CreateContainer's replies. Other fields are skipped.
func firstString(msg []byte) (string, error) {
	for len(msg) > 0 {
		key, n := binary.Uvarint(msg)
		if n <= 0 {
			return "", errors.New("bad field key")
		}
		msg = msg[n:]
		switch key & 7 {
		case 0:
			if _, n = binary.Uvarint(msg); n <= 0 {
				return "", errors.New("bad varint")
			}
			msg = msg[n:]
		case 1, 5:
			size := 8
			if key&7 == 5 {
				size = 4
			}
			if len(msg) < size {
				return "", errors.New("truncated fixed field")
			}
			msg = msg[size:]
		case 2:
			size, n := binary.Uvarint(msg)
			if n <= 0 || uint64(len(msg)-n) < size {
				return "", errors.New("truncated length-delimited field")
			}
			if key>>3 == 1 {
				return string(msg[n : n+int(size)]), nil
			}
			msg = msg[n+int(size):]
		default:
			return "", fmt.Errorf("wire type %d", key&7)
		}
	}
	return "", errors.New("no field 1")
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
	_, err := r.invoke(svc, method, req, 10*time.Second)
	return err
}

func (r *runtimeConn) invoke(svc string, method string, req []byte, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	reply := []byte{}
	if err := r.conn.Invoke(ctx, svc+method, &req, &reply, grpc.ForceCodec(rawCodec{})); err != nil {
		return nil, fmt.Errorf("%s on %s: %w", method, r.t.Name, err)
	}
	return reply, nil
}

// lifecycle runs one pod through kubelet's calls, one after another: the pod, its container
// created and started, the container's status, then all stopped and removed.
func (r *runtimeConn) lifecycle(l lifecycle, count bool, stopTimeout int) error {
	// A pod's start can take long on a loaded machine; kubelet gives it minutes.
	call := func(method string, req []byte, id *string) error {
		t0 := time.Now()
		reply, err := r.invoke(service, method, req, 2*time.Minute)
		if err != nil {
			return err
		}
		if count {
			r.samples[method] = append(r.samples[method], float64(time.Since(t0).Nanoseconds())/1e6)
		}
		if id != nil {
			if *id, err = firstString(reply); err != nil {
				return fmt.Errorf("%s on %s: no id in the reply: %w", method, r.t.Name, err)
			}
		}
		return nil
	}
	var pod, ctr string
	if err := call("RunPodSandbox", l.Run, &pod); err != nil {
		return err
	}
	if err := call("CreateContainer", append(stringField1(pod), l.Create...), &ctr); err != nil {
		return err
	}
	steps := []struct {
		method string
		req    []byte
	}{
		{"StartContainer", stringField1(ctr)},
		{"ContainerStatus", stringField1(ctr)},
		{"StopContainer", append(stringField1(ctr), varintField(2, uint64(stopTimeout))...)},
		{"RemoveContainer", stringField1(ctr)},
		{"StopPodSandbox", stringField1(pod)},
		{"RemovePodSandbox", stringField1(pod)},
	}
	for _, s := range steps {
		if err := call(s.method, s.req, nil); err != nil {
			return err
		}
	}
	return nil
}

// runLifecycles runs each runtime's lifecycles in a row, one runtime after the other, as on a
// node, which runs one runtime: what a runtime leaves to do in the background after a lifecycle
// meets its own next one, not another runtime's. The first p.Warmup of each are not counted.
func runLifecycles(p plan, conns []*runtimeConn) error {
	for _, c := range conns {
		for i, l := range c.t.Lifecycles {
			if err := c.lifecycle(l, i >= p.Warmup, p.StopTimeout); err != nil {
				return err
			}
		}
	}
	return nil
}

// inTurn is the runtimes in the order of turn i: as given when i is even, else reversed.
func inTurn(conns []*runtimeConn, i int) []*runtimeConn {
	if i%2 == 0 {
		return conns
	}
	order := make([]*runtimeConn, len(conns))
	for j, c := range conns {
		order[len(conns)-1-j] = c
	}
	return order
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
	if p.Mode != "" && p.Mode != "relist" && p.Mode != "lifecycle" {
		return fmt.Errorf("unknown mode %q", p.Mode)
	}
	if len(p.Targets) == 0 {
		return errors.New("no targets in the plan")
	}
	conns := make([]*runtimeConn, 0, len(p.Targets))
	for _, t := range p.Targets {
		if p.Mode == "lifecycle" && len(t.Lifecycles) == 0 {
			return fmt.Errorf("%s: no lifecycles in the plan", t.Name)
		}
		if p.Mode != "lifecycle" && len(t.Pods) == 0 {
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
	if p.Mode == "lifecycle" {
		if err := runLifecycles(p, conns); err != nil {
			return err
		}
		return writeSamples(conns)
	}
	for r := -p.Warmup; r < p.Rounds; r++ {
		for _, c := range inTurn(conns, r) {
			stats := r >= 0 && r%p.StatsEvery == 0
			if r < 0 {
				stats = p.WarmupStatsEvery > 0 && r%p.WarmupStatsEvery == 0
			}
			if err := c.round(r+p.Warmup, r >= 0, stats); err != nil {
				return err
			}
		}
	}
	return writeSamples(conns)
}

func writeSamples(conns []*runtimeConn) error {
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
