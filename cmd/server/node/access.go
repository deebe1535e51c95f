package node

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"

	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/webhook"
)

// keyring builds the node's keys. Without configured keys the node is in dev mode (Config.Validate has
// made sure it only listens on loopback): joins from this machine need no token, and a key made up here
// lets the admin API mint tokens that this process alone can verify.
func keyring(cfg Config, log *slog.Logger) (*auth.Keyring, error) {
	if !cfg.DevMode() {
		k, err := auth.NewKeyring(cfg.Auth.Keys...)
		if err != nil {
			return nil, fmt.Errorf("auth.keys: %w", err)
		}
		log.Info("join tokens required", "keys", len(cfg.Auth.Keys), "signing_key", k.SigningKeyID())
		return k, nil
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("dev key: %w", err)
	}
	log.Warn("dev mode: no API keys; joins from localhost are trusted as hosts",
		"http", cfg.HTTP.Addr, "hint", "configure auth.keys (configs/server.yaml) before serving other machines")
	return auth.NewKeyring(auth.Key{ID: "dev", Secret: hex.EncodeToString(secret)})
}

// newWebhooks starts the webhook senders, signing with webhooks.key or the first API key.
func newWebhooks(cfg Config, keys *auth.Keyring, log *slog.Logger) (*webhook.Notifier, error) {
	keyID := cfg.Webhooks.Key
	if keyID == "" {
		keyID = keys.SigningKeyID()
	}
	secret, ok := keys.Secret(keyID)
	if !ok {
		return nil, fmt.Errorf("webhooks.key %q is not a configured key", keyID)
	}
	n, err := webhook.New(webhook.Config{
		URLs: cfg.Webhooks.URLs, KeyID: keyID, Secret: secret,
		QueueLength: cfg.Webhooks.QueueLength, MaxAttempts: cfg.Webhooks.MaxAttempts, Timeout: cfg.Webhooks.Timeout,
		Logger: log.With("component", "webhook"),
	})
	if err != nil {
		return nil, err
	}
	log.Info("webhooks on", "urls", len(cfg.Webhooks.URLs), "key", keyID)
	return n, nil
}
