/* migrations_sqlite.c - the SQLite schema, embedded in the binary so that an
 * installed program needs no files beside it. Append new migrations at the
 * end with the next version; never edit one that has shipped.
 *
 * Conventions: STRICT tables; ids are INTEGER PRIMARY KEY (64-bit); times
 * are integer microseconds (0 = never); every organisation row has
 * workspace_id; lists page newest first by id, so list indexes end in id. */
#include "store/sql.h"

static const char m001_core[] =
    "CREATE TABLE workspaces (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL,\n"
    "  created_us INTEGER NOT NULL\n"
    ") STRICT;\n"

    "CREATE TABLE users (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),\n"
    "  email TEXT NOT NULL,\n"
    "  name TEXT NOT NULL,\n"
    "  role TEXT NOT NULL CHECK (role IN ('admin','supervisor','operator','viewer')),\n"
    "  password_hash TEXT NOT NULL,\n"
    "  created_us INTEGER NOT NULL,\n"
    "  UNIQUE (workspace_id, email)\n"
    ") STRICT;\n"

    "CREATE TABLE api_tokens (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),\n"
    "  name TEXT NOT NULL,\n"
    "  sha256 TEXT NOT NULL UNIQUE,\n"
    "  created_us INTEGER NOT NULL,\n"
    "  revoked_us INTEGER NOT NULL DEFAULT 0\n"
    ") STRICT;\n"
    "CREATE INDEX api_tokens_ws ON api_tokens(workspace_id, id);\n"

    "CREATE TABLE channels (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),\n"
    "  uuid TEXT NOT NULL UNIQUE,\n"
    "  phone_number_id TEXT NOT NULL UNIQUE,\n"
    "  name TEXT NOT NULL,\n"
    "  waba_id TEXT,\n"
    "  display_phone TEXT,\n"
    "  access_token TEXT,\n"
    "  app_secret TEXT,\n"
    "  verify_token TEXT,\n"
    "  graph_url TEXT,\n"
    "  throughput_mps INTEGER NOT NULL DEFAULT 80,\n"
    "  created_us INTEGER NOT NULL\n"
    ") STRICT;\n"
    "CREATE INDEX channels_ws ON channels(workspace_id, id);\n"

    "CREATE TABLE contacts (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),\n"
    "  wa_id TEXT NOT NULL,\n"
    "  name TEXT,\n"
    "  language TEXT,\n"
    "  fields TEXT NOT NULL DEFAULT '{}',\n"
    "  created_us INTEGER NOT NULL,\n"
    "  updated_us INTEGER NOT NULL,\n"
    "  last_inbound_us INTEGER NOT NULL DEFAULT 0,\n"
    "  UNIQUE (workspace_id, wa_id)\n"
    ") STRICT;\n"
    "CREATE INDEX contacts_ws ON contacts(workspace_id, id);\n"

    "CREATE TABLE conversations (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),\n"
    "  contact_id INTEGER NOT NULL REFERENCES contacts(id),\n"
    "  channel_id INTEGER NOT NULL REFERENCES channels(id),\n"
    "  status TEXT NOT NULL CHECK (status IN ('open','closed')),\n"
    "  opened_us INTEGER NOT NULL,\n"
    "  closed_us INTEGER NOT NULL DEFAULT 0,\n"
    "  last_message_us INTEGER NOT NULL DEFAULT 0,\n"
    "  last_inbound_us INTEGER NOT NULL DEFAULT 0\n"
    ") STRICT;\n"
    "CREATE INDEX conversations_party ON conversations(workspace_id, contact_id, channel_id, id);\n"
    "CREATE UNIQUE INDEX conversations_one_open ON conversations(contact_id, channel_id)\n"
    "  WHERE status = 'open';\n"
    "CREATE INDEX conversations_ws ON conversations(workspace_id, id);\n"
    "CREATE INDEX conversations_ws_status ON conversations(workspace_id, status, id);\n"

    "CREATE TABLE messages (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),\n"
    "  channel_id INTEGER NOT NULL REFERENCES channels(id),\n"
    "  contact_id INTEGER NOT NULL REFERENCES contacts(id),\n"
    "  conversation_id INTEGER REFERENCES conversations(id),\n"
    "  direction TEXT NOT NULL CHECK (direction IN ('in','out')),\n"
    "  lane INTEGER NOT NULL DEFAULT 0,\n"
    "  wa_id TEXT,\n"
    "  type TEXT NOT NULL,\n"
    "  text TEXT,\n"
    "  media_id TEXT,\n"
    "  mime_type TEXT,\n"
    "  reply_to_wa_id TEXT,\n"
    "  content_json TEXT,\n"
    "  to_addr TEXT,\n"
    "  status TEXT NOT NULL,\n"
    "  error_code INTEGER NOT NULL DEFAULT 0,\n"
    "  error_reason TEXT,\n"
    "  wa_us INTEGER NOT NULL DEFAULT 0,\n"
    "  created_us INTEGER NOT NULL,\n"
    "  updated_us INTEGER NOT NULL,\n"
    "  sent_us INTEGER NOT NULL DEFAULT 0,\n"
    "  UNIQUE (channel_id, wa_id)\n"
    ") STRICT;\n"
    "CREATE INDEX messages_conversation ON messages(conversation_id, id);\n"
    "CREATE INDEX messages_outbox ON messages(channel_id, id)\n"
    "  WHERE status IN ('queued','sending');\n"

    "CREATE TABLE message_statuses (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),\n"
    "  message_id INTEGER REFERENCES messages(id),\n"
    "  channel_id INTEGER NOT NULL REFERENCES channels(id),\n"
    "  wa_id TEXT,\n"
    "  status TEXT NOT NULL,\n"
    "  wa_us INTEGER NOT NULL DEFAULT 0,\n"
    "  error_code INTEGER NOT NULL DEFAULT 0,\n"
    "  error_title TEXT,\n"
    "  raw_json TEXT,\n"
    "  received_us INTEGER NOT NULL\n"
    ") STRICT;\n"
    "CREATE INDEX message_statuses_message ON message_statuses(message_id, id);\n"
    "CREATE INDEX message_statuses_pending ON message_statuses(channel_id, wa_id, id)\n"
    "  WHERE message_id IS NULL;\n"

    "CREATE TABLE channel_errors (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),\n"
    "  channel_id INTEGER NOT NULL REFERENCES channels(id),\n"
    "  code INTEGER NOT NULL DEFAULT 0,\n"
    "  title TEXT,\n"
    "  details TEXT,\n"
    "  raw_json TEXT,\n"
    "  created_us INTEGER NOT NULL\n"
    ") STRICT;\n"
    "CREATE INDEX channel_errors_channel ON channel_errors(channel_id, id);\n"

    "CREATE TABLE media (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),\n"
    "  channel_id INTEGER NOT NULL REFERENCES channels(id),\n"
    "  wa_media_id TEXT,\n"
    "  mime_type TEXT,\n"
    "  sha256 TEXT,\n"
    "  path TEXT,\n"
    "  state TEXT NOT NULL CHECK (state IN ('pending','stored','failed','too_big')),\n"
    "  size INTEGER NOT NULL DEFAULT 0,\n"
    "  created_us INTEGER NOT NULL,\n"
    "  updated_us INTEGER NOT NULL,\n"
    "  UNIQUE (channel_id, wa_media_id)\n"
    ") STRICT;\n"
    "CREATE INDEX media_pending ON media(id) WHERE state = 'pending';\n";

/* Several nodes: the node whose sender holds each channel (the lease), and
 * the outbox index widened to "unknown" messages, which the lease holder
 * queues again when no status webhook settles them (docs/internals/sending.md),
 * counting those resends. */
static const char m002_sender_leases[] =
    "CREATE TABLE sender_leases (\n"
    "  channel_id INTEGER PRIMARY KEY REFERENCES channels(id),\n"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),\n"
    "  node_id TEXT NOT NULL,\n"
    "  epoch INTEGER NOT NULL,\n"
    "  expires_us INTEGER NOT NULL,\n"
    "  acquired_us INTEGER NOT NULL\n"
    ") STRICT;\n"
    "ALTER TABLE messages ADD COLUMN resends INTEGER NOT NULL DEFAULT 0;\n"
    "DROP INDEX messages_outbox;\n"
    "CREATE INDEX messages_outbox ON messages(channel_id, id)\n"
    "  WHERE status IN ('queued','sending','unknown');\n";

/* The hot paths (as migration 3 on PostgreSQL, which also drops the foreign
 * keys of messages and message_statuses, whose checks lock parent rows
 * there; SQLite keeps them: its one writer checks a foreign key with an
 * index probe and no lock, and dropping one would mean rebuilding the
 * messages table).
 * - messages_unsettled: the sender's sweep of messages left "sending" or
 *   "unknown" (leases.c) read every queued message of the channel through
 *   messages_outbox, every 5 s, however large a broadcast's queue. */
static const char m003_hot_paths[] = "CREATE INDEX messages_unsettled ON messages(channel_id, id)\n"
                                     "  WHERE status IN ('sending','unknown');\n";

/* The operator inbox (issue 4): users who can be disabled and signed out
 * everywhere (sessions_valid_after_us), with an auto-assignment capacity;
 * sessions (the SHA-256 of the cookie, never the cookie) and their CSRF
 * token; failed-login counters shared by every node; teams; a
 * conversation's assignee, team, urgency and response timers, with the
 * indexes the inbox lists read (newest first within a workspace, status,
 * assignee, team, urgent); labels, internal notes, the history of what
 * operators did (conversation_events), canned replies, urgency words per
 * language, and per-workspace settings (business hours, time zone) as JSON.
 */
static const char m004_inbox[] =
    "ALTER TABLE users ADD COLUMN disabled_us INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE users ADD COLUMN sessions_valid_after_us INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE users ADD COLUMN capacity INTEGER NOT NULL DEFAULT 10;\n"
    "ALTER TABLE users ADD COLUMN updated_us INTEGER NOT NULL DEFAULT 0;\n"
    "CREATE INDEX users_email ON users(email, workspace_id);\n"

    "CREATE TABLE sessions (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  token_sha256 TEXT NOT NULL UNIQUE,\n"
    "  user_id INTEGER NOT NULL REFERENCES users(id),\n"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),\n"
    "  csrf_token TEXT NOT NULL,\n"
    "  created_us INTEGER NOT NULL,\n"
    "  last_seen_us INTEGER NOT NULL,\n"
    "  expires_us INTEGER NOT NULL,\n"
    "  revoked_us INTEGER NOT NULL DEFAULT 0\n"
    ") STRICT;\n"
    "CREATE INDEX sessions_user ON sessions(user_id, id);\n"

    "CREATE TABLE login_attempts (\n"
    "  key TEXT PRIMARY KEY,\n"
    "  failures INTEGER NOT NULL,\n"
    "  window_start_us INTEGER NOT NULL,\n"
    "  locked_until_us INTEGER NOT NULL DEFAULT 0\n"
    ") STRICT;\n"

    "CREATE TABLE teams (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),\n"
    "  name TEXT NOT NULL,\n"
    "  auto_assign INTEGER NOT NULL DEFAULT 0,\n"
    "  last_assigned_user_id INTEGER NOT NULL DEFAULT 0,\n"
    "  created_us INTEGER NOT NULL,\n"
    "  UNIQUE (workspace_id, name)\n"
    ") STRICT;\n"
    "CREATE TABLE team_members (\n"
    "  team_id INTEGER NOT NULL REFERENCES teams(id),\n"
    "  user_id INTEGER NOT NULL REFERENCES users(id),\n"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),\n"
    "  PRIMARY KEY (team_id, user_id)\n"
    ") STRICT;\n"
    "CREATE INDEX team_members_user ON team_members(user_id, team_id);\n"

    "ALTER TABLE conversations ADD COLUMN assignee_id INTEGER;\n"
    "ALTER TABLE conversations ADD COLUMN team_id INTEGER;\n"
    "ALTER TABLE conversations ADD COLUMN urgent INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE conversations ADD COLUMN assigned_us INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE conversations ADD COLUMN first_response_us INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE conversations ADD COLUMN last_outbound_us INTEGER NOT NULL DEFAULT 0;\n"
    "CREATE INDEX conversations_ws_recent ON conversations(workspace_id, status, last_message_us, "
    "id);\n"
    "CREATE INDEX conversations_assignee ON conversations(workspace_id, assignee_id, status,\n"
    "  last_message_us, id);\n"
    "CREATE INDEX conversations_team ON conversations(workspace_id, team_id, status, "
    "last_message_us,\n"
    "  id);\n"
    "CREATE INDEX conversations_urgent ON conversations(workspace_id, last_message_us, id)\n"
    "  WHERE urgent = 1 AND status = 'open';\n"

    "CREATE TABLE labels (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),\n"
    "  name TEXT NOT NULL,\n"
    "  color TEXT NOT NULL DEFAULT '#6b7280',\n"
    "  created_us INTEGER NOT NULL,\n"
    "  UNIQUE (workspace_id, name)\n"
    ") STRICT;\n"
    "CREATE TABLE conversation_labels (\n"
    "  conversation_id INTEGER NOT NULL REFERENCES conversations(id),\n"
    "  label_id INTEGER NOT NULL REFERENCES labels(id),\n"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),\n"
    "  created_us INTEGER NOT NULL,\n"
    "  PRIMARY KEY (conversation_id, label_id)\n"
    ") STRICT;\n"
    "CREATE INDEX conversation_labels_label ON conversation_labels(label_id, conversation_id);\n"

    "CREATE TABLE notes (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),\n"
    "  conversation_id INTEGER NOT NULL REFERENCES conversations(id),\n"
    "  author_id INTEGER NOT NULL REFERENCES users(id),\n"
    "  body TEXT NOT NULL,\n"
    "  mentions TEXT NOT NULL DEFAULT '[]',\n"
    "  created_us INTEGER NOT NULL\n"
    ") STRICT;\n"
    "CREATE INDEX notes_conversation ON notes(conversation_id, id);\n"

    "CREATE TABLE conversation_events (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),\n"
    "  conversation_id INTEGER NOT NULL REFERENCES conversations(id),\n"
    "  kind TEXT NOT NULL,\n"
    "  actor_id INTEGER,\n"
    "  data TEXT NOT NULL DEFAULT '{}',\n"
    "  created_us INTEGER NOT NULL\n"
    ") STRICT;\n"
    "CREATE INDEX conversation_events_conversation ON conversation_events(conversation_id, id);\n"

    "CREATE TABLE canned_replies (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),\n"
    "  shortcut TEXT NOT NULL,\n"
    "  title TEXT NOT NULL,\n"
    "  body TEXT NOT NULL,\n"
    "  created_us INTEGER NOT NULL,\n"
    "  updated_us INTEGER NOT NULL,\n"
    "  UNIQUE (workspace_id, shortcut)\n"
    ") STRICT;\n"

    "CREATE TABLE urgency_words (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),\n"
    "  language TEXT NOT NULL DEFAULT '',\n"
    "  phrase TEXT NOT NULL,\n"
    "  created_us INTEGER NOT NULL,\n"
    "  UNIQUE (workspace_id, language, phrase)\n"
    ") STRICT;\n"

    "ALTER TABLE workspaces ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';\n";

const ic_migration ic_sqlite_migrations[] = {
    {1, "core", m001_core},
    {2, "sender_leases", m002_sender_leases},
    {3, "hot_paths", m003_hot_paths},
    {4, "inbox", m004_inbox},
};

const size_t ic_sqlite_migrations_count =
    sizeof ic_sqlite_migrations / sizeof ic_sqlite_migrations[0];
