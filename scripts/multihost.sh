#!/usr/bin/env bash
# Data-parallel training across N "hosts" on one machine: each host is a Linux network
# namespace with its own address and host name, joined to the others through a bridge that
# lives in a namespace of its own (so the hosts reach only each other, not this machine).
# OpenMPI starts one rank per host over TCP (its launcher enters a host through an rsh agent
# that runs `ip netns exec HOST`), and its byte-transfer layer is forced to TCP over the
# links: nothing travels through shared memory between hosts.
#
#   scripts/multihost.sh N [--netem "delay 1ms rate 1gbit" | --rate 1gbit] [--kill-rank R | --cut-link R]
#                          [--after S] [train flags...]
#
# Train flags default to `--model mlp --data fashion-mnist --epochs 2 --seed 1`; flags given
# replace only the ones they name. The last line printed is rank 0's `train --json` object.
# --netem applies a `tc netem` discipline to every host's outgoing traffic (so each message
# crosses one such link); --rate limits it with `tc tbf` alone (for kernels without netem). --exec PROGRAM runs `PROGRAM [args...]` on every host instead of
# `strata train` (e.g. the all-reduce timing example).
# Failure tests: --kill-rank R kills rank R's process (SIGKILL), --cut-link R takes rank R's
# host off the network (its link goes down), --after S seconds after the start (default 3).
# The namespaces, the bridge and the files made for them are removed on exit, also on
# Ctrl-C. Needs root (or CAP_NET_ADMIN + CAP_SYS_ADMIN), iproute2, OpenMPI, and a strata
# built with `--features strata-cli/mpi` ($STRATA_BIN; built into target/mpi if unset).
# Environment: STRATA_BIN, MULTIHOST_TIMEOUT (seconds, default 600), MULTIHOST_GRACE (seconds
# mpirun may take to end the job after a rank reported an error, default 10), MULTIHOST_THREADS
# (threads per rank, default 1).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "multihost: $*" >&2; exit 2; }

[ $# -ge 1 ] || die "usage: scripts/multihost.sh N [--netem SPEC] [--kill-rank R | --cut-link R] [--after S] [train flags...]"
N=$1; shift
[[ "$N" =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] && [ "$N" -le 64 ] || die "N must be a number of hosts from 1 to 64, not '$N'"

NETEM=""; RATE=""; FAIL=""; FAIL_RANK=""; FAIL_AFTER=3; EXEC=""
TRAIN=()
while [ $# -gt 0 ]; do
    case "$1" in
        --netem) [ $# -ge 2 ] || die "--netem needs a value, e.g. \"delay 1ms rate 1gbit\""; NETEM=$2; shift 2 ;;
        --kill-rank|--cut-link)
            [ -z "$FAIL" ] || die "give one of --kill-rank and --cut-link"
            [ $# -ge 2 ] || die "$1 needs a rank"
            FAIL=${1#--}; FAIL_RANK=$2; shift 2 ;;
        --rate) [ $# -ge 2 ] || die "--rate needs a value, e.g. 1gbit"; RATE=$2; shift 2 ;;
        --after) [ $# -ge 2 ] || die "--after needs seconds"; FAIL_AFTER=$2; shift 2 ;;
        --exec) [ $# -ge 2 ] || die "--exec needs a program"; EXEC=$2; shift 2 ;;
        *) TRAIN+=("$1"); shift ;;
    esac
done
if [ -n "$FAIL" ]; then
    [[ "$FAIL_RANK" =~ ^[0-9]+$ ]] && [ "$FAIL_RANK" -lt "$N" ] || die "--$FAIL must name a rank below $N, not '$FAIL_RANK'"
    [[ "$FAIL_AFTER" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--after needs a number of seconds, not '$FAIL_AFTER'"
fi

# Defaults for the flags the user did not give.
has_flag() { local f; for f in "${TRAIN[@]+"${TRAIN[@]}"}"; do [ "$f" = "$1" ] && return 0; done; return 1; }
if [ -z "$EXEC" ]; then
    has_flag --model || TRAIN+=(--model mlp)
    has_flag --data || TRAIN+=(--data fashion-mnist)
    has_flag --epochs || TRAIN+=(--epochs 2)
    has_flag --seed || TRAIN+=(--seed 1)
    has_flag --json || TRAIN+=(--json)
fi

[ "$(id -u)" = 0 ] || die "needs root to make network namespaces (run with sudo)"
command -v ip >/dev/null || die "needs iproute2 (apt-get install iproute2)"
command -v mpirun >/dev/null || die "needs OpenMPI (apt-get install openmpi-bin libopenmpi-dev)"
[ -z "$NETEM$RATE" ] || command -v tc >/dev/null || die "--netem and --rate need tc (apt-get install iproute2)"
[ -z "$NETEM" ] || [ -z "$RATE" ] || die "give --netem or --rate, not both (netem has its own rate)"

BIN=${STRATA_BIN:-target/mpi/release/strata}
if [ -n "$EXEC" ]; then
    BIN=$(command -v "$EXEC") || die "--exec: no program $EXEC"
elif [ -z "${STRATA_BIN:-}" ]; then
    echo "multihost: building strata with MPI into target/mpi" >&2
    cargo build --release -q -p strata-cli --features strata-cli/mpi --target-dir target/mpi >&2
fi
[ -x "$BIN" ] || die "no strata binary at $BIN"
BIN=$(realpath "$BIN")

# Names unique to this run, short enough for interface names (15 characters).
ID=$(( $$ % 100000 ))
NET="10.$(( 100 + ID % 100 )).$(( ID / 100 % 250 ))"
SWITCH="mh${ID}sw"
host() { echo "mh${ID}h$1"; }
WORK=$(mktemp -d /tmp/strata-multihost.XXXXXX)
AGENT="$WORK/netns-agent"
MPIRUN_PID=""

cleanup() {
    local code=$?
    trap - EXIT INT TERM
    [ -z "$MPIRUN_PID" ] || kill -TERM "$MPIRUN_PID" 2>/dev/null || true
    # Processes left inside a host (an orted or a rank) would keep its namespace alive.
    for i in $(seq 0 $(( N - 1 ))); do
        local ns; ns=$(host "$i")
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
        rm -rf "/etc/netns/$ns"
    done
    ip netns del "$SWITCH" 2>/dev/null || true
    rm -rf "$WORK"
    exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The switch: a bridge in its own namespace, with no address (nobody can talk to it).
ip netns add "$SWITCH"
ip -n "$SWITCH" link add br0 type bridge
ip -n "$SWITCH" link set br0 up
HOSTS_FILE="$WORK/hosts"
echo "127.0.0.1 localhost" >"$HOSTS_FILE"
for i in $(seq 0 $(( N - 1 ))); do echo "$NET.$(( i + 1 )) $(host "$i")" >>"$HOSTS_FILE"; done
for i in $(seq 0 $(( N - 1 ))); do
    ns=$(host "$i")
    ip netns add "$ns"
    ip link add "mh${ID}e$i" type veth peer name "mh${ID}s$i"
    ip link set "mh${ID}e$i" netns "$ns"
    ip link set "mh${ID}s$i" netns "$SWITCH"
    ip -n "$ns" link set "mh${ID}e$i" name eth0
    ip -n "$ns" addr add "$NET.$(( i + 1 ))/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    ip -n "$SWITCH" link set "mh${ID}s$i" master br0
    ip -n "$SWITCH" link set "mh${ID}s$i" up
    if [ -n "$NETEM" ]; then
        # shellcheck disable=SC2086
        ip netns exec "$ns" tc qdisc add dev eth0 root netem $NETEM 2>"$WORK/tc.err" ||
            die "--netem: tc refused 'netem $NETEM': $(head -n 1 "$WORK/tc.err") (a kernel without CONFIG_NET_SCH_NETEM has no netem; --rate needs only tbf)"
    elif [ -n "$RATE" ]; then
        # Token bucket: the rate, a burst of a few packets' worth, queueing up to 50 ms.
        ip netns exec "$ns" tc qdisc add dev eth0 root tbf rate "$RATE" burst 256kb latency 50ms 2>"$WORK/tc.err" ||
            die "--rate: tc refused 'tbf rate $RATE': $(head -n 1 "$WORK/tc.err")"
    fi
    # `ip netns exec` bind-mounts /etc/netns/NAME/hosts over /etc/hosts: every host
    # resolves every other host's name.
    mkdir -p "/etc/netns/$ns"
    cp "$HOSTS_FILE" "/etc/netns/$ns/hosts"
done

# OpenMPI's launcher runs `AGENT HOST COMMAND...` to start its daemon on HOST: enter the
# host's namespace with a UTS namespace of its own, named like the host (OpenMPI tells its
# nodes apart by host name).
cat >"$AGENT" <<'EOF'
#!/bin/sh
host=$1; shift
exec ip netns exec "$host" unshare --uts sh -c 'hostname "$0"; exec sh -c "$*"' "$host" "$@"
EOF
chmod +x "$AGENT"

HOSTLIST=$(for i in $(seq 0 $(( N - 1 ))); do printf '%s:1,' "$(host "$i")"; done)
HOSTLIST=${HOSTLIST%,}
THREADS=${MULTIHOST_THREADS:-1}
MPI_ARGS=(
    -n "$N" --host "$HOSTLIST" --map-by node
    --mca plm_rsh_agent "$AGENT" --mca plm_rsh_no_tree_spawn 1
    # TCP only, over the hosts' links: no shared memory, no UCX.
    --mca pml ob1 --mca btl tcp,self --mca osc ^ucx
    # Busy-polling ranks starve the softirqs that carry packets across the veth links on a
    # machine with few cores (latency then comes in 4 ms timer ticks): yield when idle.
    --mca mpi_yield_when_idle 1
    --mca btl_tcp_if_include "$NET.0/24" --mca oob_tcp_if_include "$NET.0/24"
    -x RAYON_NUM_THREADS="$THREADS"
)
[ -z "${STRATA_DATA:-}" ] || MPI_ARGS+=(-x STRATA_DATA)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "multihost: $N hosts $(host 0)..$(host $(( N - 1 ))) on $NET.0/24${NETEM:+, netem: $NETEM}${RATE:+, rate: $RATE}" >&2

if [ -n "$EXEC" ]; then COMMAND=("${TRAIN[@]+"${TRAIN[@]}"}"); else COMMAND=(train "${TRAIN[@]}" --distributed); fi
OUT="$WORK/stdout"
ERR="$WORK/stderr"
: >"$ERR"
ip netns exec "$(host 0)" unshare --uts sh -c 'hostname "$0"; exec "$@"' "$(host 0)" \
    timeout "${MULTIHOST_TIMEOUT:-600}" mpirun "${MPI_ARGS[@]}" "$BIN" "${COMMAND[@]}" \
    >"$OUT" 2>"$ERR" &
MPIRUN_PID=$!
tail -n +1 -f "$ERR" --pid "$MPIRUN_PID" >&2 &

if [ "$FAIL" = kill-rank ]; then
    sleep "$FAIL_AFTER"
    victim=""
    for pid in $(ip netns pids "$(host "$FAIL_RANK")"); do
        if [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$BIN" ]; then victim=$pid; fi
    done
    if [ -n "$victim" ]; then
        echo "multihost: killing rank $FAIL_RANK (pid $victim on $(host "$FAIL_RANK"))" >&2
        kill -KILL "$victim"
    else
        echo "multihost: rank $FAIL_RANK had no strata process to kill after ${FAIL_AFTER}s" >&2
    fi
elif [ "$FAIL" = cut-link ]; then
    sleep "$FAIL_AFTER"
    echo "multihost: cutting $(host "$FAIL_RANK")'s link (rank $FAIL_RANK)" >&2
    ip -n "$(host "$FAIL_RANK")" link set eth0 down
fi

# Once a rank has reported an error, mpirun ends the job, unless it cannot reach a host
# whose link is down: then it would wait for that host forever. Give it a grace period.
GRACE=${MULTIHOST_GRACE:-10}
first_error=""
while kill -0 "$MPIRUN_PID" 2>/dev/null; do
    if [ -z "$first_error" ] && grep -q '^error: ' "$ERR"; then first_error=$SECONDS; fi
    if [ -n "$first_error" ] && [ $(( SECONDS - first_error )) -ge "$GRACE" ]; then
        echo "multihost: mpirun did not end the job within ${GRACE}s of the first error (a host is unreachable); stopping every rank" >&2
        for i in $(seq 0 $(( N - 1 ))); do
            for pid in $(ip netns pids "$(host "$i")" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        done
        break
    fi
    sleep 0.2
done
set +e
{ wait "$MPIRUN_PID"; } 2>/dev/null
code=$?
set -e
[ -z "$first_error" ] || [ "$code" != 0 ] || code=1
MPIRUN_PID=""
sleep 0.3 # the last of stderr through tail
# Progress lines and the JSON object come from rank 0 alone.
grep -v '^{' "$OUT" || true
grep '^{' "$OUT" | tail -n 1 || true
exit "$code"
