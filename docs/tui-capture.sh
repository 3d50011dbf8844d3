#!/bin/sh
# Captures the real terminal UI for docs/tui.md and the README: builds
# gputune, runs `gputune --demo --speed 10 --no-color` in a private tmux
# server at COLSxROWS, waits SECONDS, sends KEYS (tmux send-keys names, one
# per argument, half a second apart) and prints the pane.
#
#   docs/tui-capture.sh 120 40 20            # the main screen
#   docs/tui-capture.sh 120 40 20 '?'        # the help screen
#   docs/tui-capture.sh 120 40 20 q          # the summary left after quit
#   EXTRA='--sim-gpus 4' docs/tui-capture.sh 120 40 20 Tab Tab
set -eu
cols=${1:-120} rows=${2:-40} wait=${3:-20}
shift 3 || true
dir=$(mktemp -d)
trap 'tmux -S "$dir/tmux.sock" kill-server 2>/dev/null || true; sleep 1; rm -rf "$dir" 2>/dev/null || true' EXIT
CGO_CFLAGS="${CGO_CFLAGS:--O2 -g -Wno-deprecated-declarations}" go build -o "$dir/gputune" .
tmux -S "$dir/tmux.sock" -f /dev/null new-session -d -s cap -x "$cols" -y "$rows" \
	"env TERM=xterm-256color $dir/gputune --demo --speed 10 --no-color --data-dir $dir --log-dir $dir ${EXTRA:-}; echo EXIT=\$?; sleep 600"
sleep "$wait"
for k in "$@"; do
	tmux -S "$dir/tmux.sock" send-keys -t cap "$k"
	sleep 0.5
done
sleep 0.3
tmux -S "$dir/tmux.sock" capture-pane -p -t cap
