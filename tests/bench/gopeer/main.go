// gopeer: the Go server many users would write instead of roomgate, for
// tests/bench/run: net/http, a Bearer HS256 check with golang-jwt, and the
// LiveKit token minted with LiveKit's Go SDK (github.com/livekit/protocol/auth),
// answering POST /token in roomgate's shape.
//
//	gopeer --session-secret S [--listen 127.0.0.1:0] [--api-key devkey]
//	       [--api-secret secret] [--server-url ws://127.0.0.1:9]
//
// Prints {"event":"listening","port":N} on stdout once it listens.
//
// Per request, what roomgate's /token does for the bench's request, in the
// way a Go developer would write it:
//   - Authorization: Bearer <JWT>, HS256 only, signed with --session-secret,
//     with roomgate's session claims (iss "roomgate", aud and typ
//     "roomgate-session", sub, exp, nbf): the session token roomgate's
//     /v1/login hands out passes. (roomgate also reads the user's line in its
//     users file and the revoked list; this peer trusts the token alone.)
//   - identity = the token's sub (a different participant_identity is 403),
//     name = participant_name (default: the identity), room = room_name
//     (default: a random "room-..." name);
//   - each requested agent's job metadata as roomgate's bench profile writes
//     it: the client's allowed fields (language), then user_id, user_name and
//     room from the server;
//   - AccessToken with a room grant (join, publish, subscribe, data), 10 min,
//     roomConfig with the agents;
//   - 201 {"server_url","participant_token","room_name","participant_identity",
//     "expires_at","dispatch":"token","agents":[{"agent_name","metadata"}]}.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
)

const tokenTTL = 10 * time.Minute

// the client metadata fields the bench's agent profile lets through
var clientFields = map[string]bool{"language": true}

type server struct {
	apiKey, apiSecret, serverURL string
	sessionSecret                []byte
	parser                       *jwt.Parser
}

type sessionClaims struct {
	Typ string `json:"typ"`
	jwt.RegisteredClaims
}

type agentReq struct {
	AgentName  string          `json:"agent_name"`
	AgentName2 string          `json:"agentName"`
	Metadata   json.RawMessage `json:"metadata"`
}

type roomConfigReq struct {
	Agents []agentReq `json:"agents"`
}

type tokenReq struct {
	RoomName            string         `json:"room_name"`
	RoomName2           string         `json:"roomName"`
	ParticipantIdentity string         `json:"participant_identity"`
	ParticipantName     string         `json:"participant_name"`
	RoomConfig          *roomConfigReq `json:"room_config"`
}

type agentResp struct {
	AgentName string `json:"agent_name"`
	Metadata  string `json:"metadata"`
}

type tokenResp struct {
	ServerURL           string      `json:"server_url"`
	ParticipantToken    string      `json:"participant_token"`
	RoomName            string      `json:"room_name"`
	ParticipantIdentity string      `json:"participant_identity"`
	ExpiresAt           int64       `json:"expires_at"`
	Dispatch            string      `json:"dispatch,omitempty"`
	Agents              []agentResp `json:"agents,omitempty"`
}

func fail(w http.ResponseWriter, status int, code, msg string) {
	send(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func send(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}

// user checks the Bearer session token and returns its subject.
func (s *server) user(r *http.Request) (string, bool) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", false
	}
	var c sessionClaims
	_, err := s.parser.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return s.sessionSecret, nil })
	if err != nil || c.Typ != "roomgate-session" || c.Subject == "" {
		return "", false
	}
	return c.Subject, true
}

// jobMetadata: the client's allowed fields in its order, then the server's.
func jobMetadata(client json.RawMessage, identity, name, room string) (string, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	first := true
	put := func(k string, v []byte) {
		if !first {
			buf.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(v)
	}
	// metadata is a JSON string holding an object, or an object
	var s string
	if len(client) > 0 && client[0] == '"' {
		if err := json.Unmarshal(client, &s); err != nil {
			return "", err
		}
		client = json.RawMessage(s)
	}
	if len(bytes.TrimSpace(client)) > 0 && string(client) != "null" {
		dec := json.NewDecoder(bytes.NewReader(client))
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			return "", fmt.Errorf("metadata is not an object")
		}
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return "", err
			}
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return "", err
			}
			k := t.(string)
			if clientFields[k] {
				put(k, v)
			}
		}
	}
	for _, kv := range [][2]string{{"user_id", identity}, {"user_name", name}, {"room", room}} {
		v, _ := json.Marshal(kv[1])
		put(kv[0], v)
	}
	buf.WriteByte('}')
	return buf.String(), nil
}

func randomRoom() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "room-" + base64.RawURLEncoding.EncodeToString(b)
}

func (s *server) token(w http.ResponseWriter, r *http.Request) {
	identity, ok := s.user(r)
	if !ok {
		fail(w, http.StatusUnauthorized, "invalid_credentials", "a valid Bearer session token is required")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		fail(w, http.StatusBadRequest, "invalid_request", "body too large or unreadable")
		return
	}
	var req tokenReq
	if len(body) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			fail(w, http.StatusBadRequest, "invalid_json", "body is not a JSON object")
			return
		}
	}
	if req.ParticipantIdentity != "" && req.ParticipantIdentity != identity {
		fail(w, http.StatusForbidden, "identity_not_allowed", "participant_identity must be yours")
		return
	}
	room := req.RoomName
	if room == "" {
		room = req.RoomName2
	}
	if room == "" {
		room = randomRoom()
	}
	name := req.ParticipantName
	if name == "" {
		name = identity
	}
	var agents []*livekit.RoomAgentDispatch
	var answer []agentResp
	if req.RoomConfig != nil {
		for _, a := range req.RoomConfig.Agents {
			an := a.AgentName
			if an == "" {
				an = a.AgentName2
			}
			md, err := jobMetadata(a.Metadata, identity, name, room)
			if err != nil {
				fail(w, http.StatusBadRequest, "invalid_metadata", err.Error())
				return
			}
			agents = append(agents, &livekit.RoomAgentDispatch{AgentName: an, Metadata: md})
			answer = append(answer, agentResp{AgentName: an, Metadata: md})
		}
	}
	yes := true
	at := auth.NewAccessToken(s.apiKey, s.apiSecret).
		SetIdentity(identity).
		SetName(name).
		SetValidFor(tokenTTL).
		SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: room, CanPublish: &yes,
			CanSubscribe: &yes, CanPublishData: &yes})
	if len(agents) > 0 {
		at.SetRoomConfig(&livekit.RoomConfiguration{Agents: agents})
	}
	expires := time.Now().Add(tokenTTL).Unix()
	jwtStr, err := at.ToJWT()
	if err != nil {
		fail(w, http.StatusInternalServerError, "internal_error", err.Error())
		return
	}
	resp := tokenResp{ServerURL: s.serverURL, ParticipantToken: jwtStr, RoomName: room,
		ParticipantIdentity: identity, ExpiresAt: expires}
	if len(answer) > 0 {
		resp.Dispatch, resp.Agents = "token", answer
	}
	send(w, http.StatusCreated, resp)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	sessionSecret := flag.String("session-secret", "", "HS256 secret of the Bearer session tokens (required)")
	apiKey := flag.String("api-key", "devkey", "LiveKit API key")
	apiSecret := flag.String("api-secret", "secret", "LiveKit API secret")
	serverURL := flag.String("server-url", "ws://127.0.0.1:9", "server_url in the answers")
	flag.Parse()
	if *sessionSecret == "" {
		fmt.Fprintln(os.Stderr, "usage: gopeer --session-secret S [--listen ADDR] [--api-key K] [--api-secret S] [--server-url URL]")
		os.Exit(2)
	}
	s := &server{apiKey: *apiKey, apiSecret: *apiSecret, serverURL: *serverURL,
		sessionSecret: []byte(*sessionSecret),
		parser: jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("roomgate"),
			jwt.WithAudience("roomgate-session"), jwt.WithExpirationRequired())}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", s.token)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("gopeer: listen %s: %v", *listen, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Second}
	fmt.Printf("{\"event\":\"listening\",\"port\":%d}\n", ln.Addr().(*net.TCPAddr).Port)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		srv.Close()
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		log.Fatalf("gopeer: %v", err)
	}
}
