// delayproxy: a TCP proxy that adds a fixed one-way delay in each direction,
// for tests/bench/livekit-link (roomgate -> this proxy -> livekit-server), so
// that loopback behaves like a LiveKit one round trip (2 x --delay) away.
//
//	delayproxy --target 127.0.0.1:7880 [--listen 127.0.0.1:0] [--delay 20ms]
//	           [--stats-listen 127.0.0.1:0]
//
// Once listening it prints one JSON line on stdout:
//
//	{"event":"listening","port":N,"stats_port":M,"target":"...","delay_ms":20}
//
// GET http://127.0.0.1:M/stats answers {"connections": accepted so far,
// "active": open now, "bytes_up": client -> target, "bytes_down": target ->
// client, "delay_ms": D}: the bench reads "connections" before and after a
// load run to count the new connections per request.
//
// The delay applies to every chunk read, in order: each direction has a
// reader that stamps what it reads with the time it may leave (now + delay)
// and queues it, and a writer that waits for that time and writes. So a
// request and its answer each take the delay once, however many requests a
// kept-alive connection carries, and bandwidth is not limited. A half close
// (EOF) is forwarded after the data queued before it. Standard library only.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type stats struct {
	connections atomic.Int64
	active      atomic.Int64
	bytesUp     atomic.Int64
	bytesDown   atomic.Int64
}

// chunk is data read at one time, and when it may be written on.
type chunk struct {
	due  time.Time
	data []byte // nil: EOF
}

// queueLen bounds the chunks in flight per direction; a full queue stops the
// reader (back-pressure) instead of growing without end.
const queueLen = 4096

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to accept clients on")
	target := flag.String("target", "", "address to forward to (host:port, required)")
	delay := flag.Duration("delay", 20*time.Millisecond, "added delay in each direction")
	statsListen := flag.String("stats-listen", "127.0.0.1:0", "address of the GET /stats server")
	flag.Parse()
	if *target == "" || *delay < 0 {
		fmt.Fprintln(os.Stderr, "usage: delayproxy --target HOST:PORT [--listen ADDR] [--delay 20ms] [--stats-listen ADDR]")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("delayproxy: listen %s: %v", *listen, err)
	}
	sln, err := net.Listen("tcp", *statsListen)
	if err != nil {
		log.Fatalf("delayproxy: listen %s: %v", *statsListen, err)
	}
	st := &stats{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"connections": st.connections.Load(),
			"active":      st.active.Load(),
			"bytes_up":    st.bytesUp.Load(),
			"bytes_down":  st.bytesDown.Load(),
			"delay_ms":    float64(*delay) / float64(time.Millisecond),
		})
	})
	go func() { _ = http.Serve(sln, mux) }()

	line, _ := json.Marshal(map[string]any{
		"event": "listening", "port": ln.Addr().(*net.TCPAddr).Port,
		"stats_port": sln.Addr().(*net.TCPAddr).Port, "target": *target,
		"delay_ms": float64(*delay) / float64(time.Millisecond),
	})
	fmt.Println(string(line))

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		ln.Close()
		sln.Close()
		os.Exit(0)
	}()

	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			log.Printf("delayproxy: accept: %v", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		st.connections.Add(1)
		go proxy(c.(*net.TCPConn), *target, *delay, st)
	}
}

// proxy joins one client to a new connection to the target, delaying both ways.
func proxy(client *net.TCPConn, target string, delay time.Duration, st *stats) {
	st.active.Add(1)
	defer st.active.Add(-1)
	defer client.Close()
	// the connect is delayed too: the SYN and its answer cross the link
	time.Sleep(2 * delay)
	up, err := net.Dial("tcp", target)
	if err != nil {
		log.Printf("delayproxy: dial %s: %v", target, err)
		return
	}
	server := up.(*net.TCPConn)
	defer server.Close()
	client.SetNoDelay(true)
	server.SetNoDelay(true)

	var once sync.Once
	abort := func() { // a write failed: tear both down, which ends the readers
		once.Do(func() {
			client.SetLinger(0)
			client.Close()
			server.Close()
		})
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); pipe(client, server, delay, &st.bytesUp, abort) }()
	go func() { defer wg.Done(); pipe(server, client, delay, &st.bytesDown, abort) }()
	wg.Wait()
}

// pipe copies src to dst, each chunk held until delay after it was read.
func pipe(src, dst *net.TCPConn, delay time.Duration, count *atomic.Int64, abort func()) {
	q := make(chan chunk, queueLen)
	done := make(chan struct{})
	go func() { // the writer
		defer close(done)
		for c := range q {
			if wait := time.Until(c.due); wait > 0 {
				time.Sleep(wait)
			}
			if c.data == nil {
				dst.CloseWrite() // the source's EOF, after everything before it
				return
			}
			if _, err := dst.Write(c.data); err != nil {
				abort()
				for range q { // let the reader finish
				}
				return
			}
			count.Add(int64(len(c.data)))
		}
	}()
	buf := make([]byte, 64*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			q <- chunk{due: time.Now().Add(delay), data: append([]byte(nil), buf[:n]...)}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				abort() // a reset or our own abort: nothing more to deliver
			}
			q <- chunk{due: time.Now().Add(delay)}
			break
		}
	}
	close(q)
	<-done
}
