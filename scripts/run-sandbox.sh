#!/usr/bin/env bash
# `make run`: starts impactchat on SQLite with wa-sim standing in for Meta.
# The first run creates a workspace, an admin user, an API token and a
# sandbox channel, and keeps them in var/sandbox.env for the next runs.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
IC_PORT=${IC_PORT:-8080}
SIM_PORT=${SIM_PORT:-8089}
DB=var/sandbox.db
ENV_FILE=var/sandbox.env
PHONE_ID=100000000000001
SIM_TOKEN=sandbox-access-token
SIM_SECRET=sandbox-app-secret
ic="$BUILD/impactchat"

mkdir -p var
if [ ! -f "$ENV_FILE" ]; then
  ws=$("$ic" workspace create "Sandbox" --db "$DB" | sed -n 's/^workspace \([0-9]*\) created.*/\1/p')
  password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  echo "$password" | "$ic" user add --workspace "$ws" --email admin@sandbox.local \
      --name "Sandbox admin" --role admin --password-stdin --db "$DB" >/dev/null
  token=$("$ic" token create --workspace "$ws" --name sandbox --db "$DB")
  uuid=$(IC_ACCESS_TOKEN=$SIM_TOKEN IC_APP_SECRET=$SIM_SECRET "$ic" channel add \
      --workspace "$ws" --phone-number-id $PHONE_ID --name "Sandbox number" \
      --display-phone "+1 555 000 0001" --graph-url "http://127.0.0.1:$SIM_PORT/v21.0" \
      --db "$DB" | sed -n 's|^webhook URL: .*/webhooks/whatsapp/\(.*\)$|\1|p')
  umask 077
  printf 'WS=%s\nPASSWORD=%s\nTOKEN=%s\nCHANNEL_UUID=%s\n' "$ws" "$password" "$token" "$uuid" > "$ENV_FILE"
fi
# shellcheck disable=SC1090
. "$ENV_FILE"

"$BUILD/wa-sim" --port "$SIM_PORT" \
  --number "$PHONE_ID,$SIM_TOKEN,$SIM_SECRET,http://127.0.0.1:$IC_PORT/webhooks/whatsapp/$CHANNEL_UUID" \
  > var/wa-sim.log 2>&1 &
sim_pid=$!
trap 'kill $sim_pid 2>/dev/null || true' EXIT

cat <<INFO

  impactchat sandbox
  ------------------
  Inbox:        http://127.0.0.1:$IC_PORT/   (open it in a browser)
  Sign in:      admin@sandbox.local / $PASSWORD
  API:          http://127.0.0.1:$IC_PORT/api/v1   (health: /healthz)
  API token:    $TOKEN
  wa-sim:       http://127.0.0.1:$SIM_PORT   (log: var/wa-sim.log)

  Make a simulated phone write in (it appears in the inbox within seconds):
    curl -s -X POST http://127.0.0.1:$SIM_PORT/sim/people/27820001111/send -d '{"type":"text","text":"Hello"}'
  Then see it through the API:
    curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:$IC_PORT/api/v1/conversations

INFO
"$ic" serve --db "$DB" --port "$IC_PORT" --media-dir var/media
