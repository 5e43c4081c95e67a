#!/bin/bash
# slurm-ci.sh: a throwaway Slurm 22.05 cluster for CI and development on Debian 12 (run as root;
# systemd not required). Recipe and measurements: shared/notes/local-engines.md section 1.
#
#   bash scripts/slurm-ci.sh install   apt packages (no recommends); keeps postinst from starting services
#   bash scripts/slurm-ci.sh up        munged + slurmctld + N x slurmd + slurmrestd, waits until all nodes are idle
#   bash scripts/slurm-ci.sh down      cancels jobs, stops every daemon by PID, kills orphaned steps, removes netns
#   bash scripts/slurm-ci.sh status    exit 0 when slurmctld answers and slurmrestd is up, 1 otherwise
#   bash scripts/slurm-ci.sh kill-node N     SIGKILL node N's slurmd (failure injection for tests)
#   bash scripts/slurm-ci.sh start-node N    start node N's slurmd again (returns to service: ReturnToService=2)
#
# Environment:
#   SLURM_CI_MODE=ports|netns     ports (default): N slurmd on 127.0.0.1, one port each (682N)
#                                 netns: one network namespace per node on a private bridge 10.231.0.0/24
#   SLURM_CI_NODES=4              compute nodes node1..nodeN
#   SLURM_CI_GPUS=8 SLURM_CI_GPU_TYPE=h100 SLURM_CI_CPUS=16 SLURM_CI_MEM=16000   per-node fake resources
#   SLURM_CI_SLURMD_TIMEOUT=10    seconds before slurmctld declares a silent slurmd DOWN. Production
#                                 clusters use 300 (the default) or 30; 10 keeps node-failure tests short
#                                 (measured: the suanli executor saw the job end ~28 s after a slurmd was
#                                 killed with 10; the recipe measured ~48 s with 30).
#   SLURM_CI_SCHED_PARAMS=batch_sched_delay=0,sched_min_interval=100000
#                                 SchedulerParameters. Slurm's default batch_sched_delay=3 made every REST
#                                 job start ~3 s after submission (median 3.0 s); with these 1.0 s.
#   SLURM_CI_REST_PORT=6820       slurmrestd on 127.0.0.1 (JWT auth, openapi/v0.0.38); empty = no slurmrestd
#   SLURM_CI_ACCOUNTS="sl-t sl-u sl-tenant-c"   Unix accounts jobs run as (the suanli tests' tenants);
#                                 `up` creates them with useradd (group of the same name), `down` removes
#                                 them. On a real cluster they come from the site's directory (LDAP/sssd).
#   SLURM_CI_REST_SOCKET=/run/slurmrestd/slurmrestd.sock   a second slurmrestd on a UNIX socket with
#                                 rest_auth/local (no token; root and the slurmrestd user may call it;
#                                 jobs run as slurmrestd); empty = none
#
# Nodes get topology features (two nodes per switch, all in one rack): node1,node2 -> switch_s1,
# node3,node4 -> switch_s2; every node: rack_r1. The suanli Slurm executor maps `switch_X` to the
# topology label switch=X (docs/slurm.md).
#
# Jobs are fenced by Slurm's cgroup plugins (cgroup v1 here: proctrack/cgroup, task/cgroup with
# ConstrainRAMSpace, ConstrainDevices, ConstrainCores). The fake GPUs are character devices with
# NVIDIA's major number 195 (opening one gives ENXIO: no driver), so the devices cgroup can tell them
# apart: a job may open its own GPUs' nodes (ENXIO) but not the others' (EPERM).
#
# Files written: /etc/slurm/{slurm.conf,gres.conf,cgroup.conf}, /etc/slurm/jwt_hs256.key (kept between
# runs), /run/slurm-ci/ (layout, slurmrestd pid, accounts created), /var/lib/slurm/fakegpu/gpu* (c 195:N).
set -euo pipefail

MODE=${SLURM_CI_MODE:-ports}
NODES=${SLURM_CI_NODES:-4}
GPUS=${SLURM_CI_GPUS:-8}
GPU_TYPE=${SLURM_CI_GPU_TYPE:-h100}
CPUS=${SLURM_CI_CPUS:-16}
MEM=${SLURM_CI_MEM:-16000}
SLURMD_TIMEOUT=${SLURM_CI_SLURMD_TIMEOUT:-10}
REST_PORT=${SLURM_CI_REST_PORT-6820}
REST_SOCKET=${SLURM_CI_REST_SOCKET-/run/slurmrestd/slurmrestd.sock}
SCHED_PARAMS=${SLURM_CI_SCHED_PARAMS:-batch_sched_delay=0,sched_min_interval=100000}
ACCOUNTS=${SLURM_CI_ACCOUNTS-sl-t sl-u sl-tenant-c}
STATE=/run/slurm-ci
BR=slurmbr0
NET=10.231.0            # private, exists only on this machine; namespaces get no default route
FAKEDEV=/var/lib/slurm/fakegpu

install_pkgs() {
  if command -v slurmctld >/dev/null && command -v slurmrestd >/dev/null && [ -e /usr/lib/x86_64-linux-gnu/slurm-wlm/auth_jwt.so ]; then
    echo "slurm packages already installed"; return 0
  fi
  local guard=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then   # stop postinst from starting munge/slurm via init scripts
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; guard=1
  fi
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    slurm-wlm slurmctld slurmd slurm-client slurmrestd slurm-wlm-jwt-plugin munge
  [ "$guard" = 1 ] && rm -f /usr/sbin/policy-rc.d
  return 0
}

node_addr() { if [ "$MODE" = netns ]; then echo "$NET.$((10 + $1))"; else echo 127.0.0.1; fi; }
node_port() { if [ "$MODE" = netns ]; then echo 6818; else echo $((6820 + $1)); fi; }

write_conf() {
  local ctl_addr=$1
  cat > /etc/slurm/slurm.conf <<CONF
# written by scripts/slurm-ci.sh ($MODE mode, $NODES nodes)
ClusterName=ci
SlurmctldHost=$(hostname -s)($ctl_addr)
SlurmUser=slurm
SlurmdUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
CredType=cred/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=/etc/slurm/jwt_hs256.key
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd/%n
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd-%n.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd-%n.log
ProctrackType=proctrack/cgroup
TaskPlugin=task/cgroup,task/affinity
JobAcctGatherType=jobacct_gather/cgroup
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.log
SchedulerType=sched/backfill
SchedulerParameters=$SCHED_PARAMS
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
SlurmdParameters=config_overrides
GresTypes=gpu
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=$SLURMD_TIMEOUT
KillWait=2
MpiDefault=none
MailProg=/bin/true
CONF
  : > /etc/slurm/gres.conf
  local i sw
  for i in $(seq 1 "$NODES"); do
    sw=s$(( (i + 1) / 2 ))
    echo "NodeName=node$i NodeAddr=$(node_addr "$i") Port=$(node_port "$i") CPUs=$CPUS RealMemory=$MEM Gres=gpu:$GPU_TYPE:$GPUS Features=$GPU_TYPE,switch_$sw,rack_r1 State=UNKNOWN" >> /etc/slurm/slurm.conf
    echo "NodeName=node$i Name=gpu Type=$GPU_TYPE File=$FAKEDEV/gpu[0-$((GPUS - 1))]" >> /etc/slurm/gres.conf
  done
  echo "PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP" >> /etc/slurm/slurm.conf
  # What fences the jobs (docs/slurm.md, "Confinement"). ConstrainDevices fences only the device
  # files gres.conf lists; ConstrainSwapSpace with AllowedSwapSpace=0 keeps a job from swapping past
  # its memory (where the kernel has swap accounting).
  cat > /etc/slurm/cgroup.conf <<CONF
CgroupPlugin=cgroup/v1
ConstrainCores=yes
ConstrainRAMSpace=yes
ConstrainSwapSpace=yes
AllowedSwapSpace=0
ConstrainDevices=yes
CONF
}

add_accounts() {   # the Unix accounts jobs run as, recorded so that `down` removes only what `up` made
  local a
  : > "$STATE/accounts"
  for a in $ACCOUNTS; do
    id "$a" >/dev/null 2>&1 && continue
    useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group "$a"
    echo "$a" >> "$STATE/accounts"
  done
}

start_slurmd() {   # start_slurmd I
  local i=$1
  if [ "$MODE" = netns ]; then
    # nsenter (not `ip netns exec`): keeps the host /sys so slurmd still finds /sys/fs/cgroup
    nsenter --net="/run/netns/slurm-node$i" unshare --uts sh -c "hostname node$i && exec slurmd -N node$i"
  else
    slurmd -N "node$i"                             # daemonizes, writes /run/slurmd-node$i.pid
  fi
}

up() {
  if [ -s /run/slurmctld.pid ] && ! gone "$(cat /run/slurmctld.pid)"; then
    echo "slurmctld already running (pid $(cat /run/slurmctld.pid)); run '$0 down' first" >&2; return 1
  fi
  command -v slurmctld >/dev/null || { echo "Slurm is not installed: run '$0 install' first" >&2; return 1; }
  install -d -m 0755 "$STATE"
  echo "$MODE $NODES" > "$STATE/layout"

  [ -s /etc/munge/munge.key ] || runuser -u munge -- /usr/sbin/mungekey --create
  install -d -o munge -g munge -m 0755 /run/munge
  runuser -u munge -- /usr/sbin/munged            # daemonizes, writes /run/munge/munged.pid

  # JWT signing key for auth/jwt (slurmctld) and rest_auth/jwt (slurmrestd)
  [ -s /etc/slurm/jwt_hs256.key ] || dd if=/dev/urandom of=/etc/slurm/jwt_hs256.key bs=32 count=1 status=none
  chown slurm:slurm /etc/slurm/jwt_hs256.key; chmod 0600 /etc/slurm/jwt_hs256.key

  # fake accelerator "device files": gres/gpu drops GPUs without File=, and File= must be a char/block
  # device. Distinct c 195:N nodes (not /dev/null) so that ConstrainDevices can fence each one.
  install -d "$FAKEDEV"
  local i
  for i in $(seq 0 $((GPUS - 1))); do
    rm -f "$FAKEDEV/gpu$i"; mknod -m 0666 "$FAKEDEV/gpu$i" c 195 "$i"
  done
  add_accounts

  local ctl_addr=127.0.0.1
  if [ "$MODE" = netns ]; then
    ctl_addr=$NET.1
    ip link add "$BR" type bridge
    ip addr add "$NET.1/24" dev "$BR"
    ip link set "$BR" up
    for i in $(seq 1 "$NODES"); do
      ip netns add "slurm-node$i"
      ip link add "veth-node$i" type veth peer name eth0 netns "slurm-node$i"
      ip link set "veth-node$i" master "$BR"
      ip link set "veth-node$i" up
      ip -n "slurm-node$i" link set lo up
      ip -n "slurm-node$i" addr add "$NET.$((10 + i))/24" dev eth0
      ip -n "slurm-node$i" link set eth0 up
    done
  fi

  write_conf "$ctl_addr"
  install -d -o slurm -g slurm /var/lib/slurm/slurmctld /var/log/slurm
  rm -rf /var/lib/slurm/slurmctld/* /var/lib/slurm/slurmd/*   # fresh state: job ids restart at 1
  install -o slurm -g slurm -m 0644 /dev/null /var/log/slurm/jobcomp.log   # written by slurmctld (SlurmUser)
  for i in $(seq 1 "$NODES"); do install -d "/var/lib/slurm/slurmd/node$i"; done

  slurmctld                                          # daemonizes, writes /run/slurmctld.pid
  for i in $(seq 1 "$NODES"); do start_slurmd "$i"; done

  local t deadline=$((SECONDS + 60))
  until [ "$(sinfo -h -N -t idle -o '%N' 2>/dev/null | wc -l)" -eq "$NODES" ]; do
    [ -s /run/slurmctld.pid ] && gone "$(cat /run/slurmctld.pid)" && { tail -3 /var/log/slurm/slurmctld.log >&2; return 1; }
    [ "$SECONDS" -lt "$deadline" ] || break
    sleep 0.2
  done
  sinfo -N -o '%N %T %G %o %f'
  [ "$(sinfo -h -N -t idle -o '%N' | wc -l)" -eq "$NODES" ] || { echo "nodes not idle" >&2; return 1; }

  if [ -n "$REST_PORT" ]; then
    id slurmrestd >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin slurmrestd
    # must not run as root/SlurmUser; -s: only the v0.0.38 plugin (dbv0.0.* plugins are fatal without slurmdbd)
    SLURM_JWT=daemon nohup setpriv --reuid=slurmrestd --regid=slurmrestd --init-groups \
      /usr/sbin/slurmrestd -a rest_auth/jwt -s openapi/v0.0.38 "127.0.0.1:$REST_PORT" \
      > /var/log/slurm/slurmrestd.log 2>&1 < /dev/null &
    echo $! > "$STATE/slurmrestd.pid"
    for t in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$REST_PORT/" && break; sleep 0.1; done
    echo "slurmrestd: http://127.0.0.1:$REST_PORT/slurm/v0.0.38 (JWT key /etc/slurm/jwt_hs256.key)"
  fi
  if [ -n "$REST_SOCKET" ]; then
    id slurmrestd >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin slurmrestd
    install -d -o slurmrestd -g slurmrestd -m 0755 "$(dirname "$REST_SOCKET")"
    rm -f "$REST_SOCKET"
    nohup setpriv --reuid=slurmrestd --regid=slurmrestd --init-groups \
      /usr/sbin/slurmrestd -a rest_auth/local -s openapi/v0.0.38 "unix:$REST_SOCKET" \
      > /var/log/slurm/slurmrestd-unix.log 2>&1 < /dev/null &
    echo $! > "$STATE/slurmrestd-unix.pid"
    for t in $(seq 1 50); do [ -S "$REST_SOCKET" ] && break; sleep 0.1; done
    echo "slurmrestd: unix:$REST_SOCKET (rest_auth/local)"
  fi
}

gone() { case "$(ps -o stat= -p "$1" 2>/dev/null)" in ''|Z*) return 0 ;; esac; return 1; }  # exited or zombie

stop_pid() {   # stop_pid PIDFILE [SIGNAL]: signal the PID in the file, wait up to 10 s, then SIGKILL
  local f=$1 sig=${2:-TERM} p t
  [ -s "$f" ] || return 0
  p=$(cat "$f")
  kill "-$sig" "$p" 2>/dev/null || return 0
  for t in $(seq 1 100); do gone "$p" && return 0; sleep 0.1; done
  kill -9 "$p" 2>/dev/null || true   # e.g. a slurmd that never registered ignores SIGTERM
}

leftover_stepds() {   # slurmstepd PIDs still listening on their sockets in our spool dirs
  local nodes=$1 i
  { ss -xlpn 2>/dev/null
    for i in $(seq 1 "$nodes"); do
      [ -e "/run/netns/slurm-node$i" ] && nsenter --net="/run/netns/slurm-node$i" ss -xlpn 2>/dev/null
    done
  } | grep -F ' /var/lib/slurm/slurmd/' | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u
}

down() {
  local mode=ports nodes=0 i f p c t a
  [ -s "$STATE/layout" ] && read -r mode nodes < "$STATE/layout"
  if [ -s /run/slurmctld.pid ] && ! gone "$(cat /run/slurmctld.pid)"; then
    squeue -h -o %i 2>/dev/null | xargs -r scancel 2>/dev/null || true   # let slurmd end the jobs
    for t in $(seq 1 150); do [ -z "$(squeue -h -t R,CG,S -o %i 2>/dev/null)" ] && break; sleep 0.1; done
  fi
  stop_pid "$STATE/slurmrestd.pid"
  stop_pid "$STATE/slurmrestd-unix.pid"
  for f in /run/slurmd-node*.pid; do [ -e "$f" ] && stop_pid "$f"; done
  stop_pid /run/slurmctld.pid
  stop_pid /run/munge/munged.pid
  # steps orphaned by a killed slurmd keep running (and ignore SIGTERM): kill them and their tasks
  for p in $(leftover_stepds "$nodes"); do
    for c in $(ps -o pid= --ppid "$p"); do kill -9 -- "-$c" 2>/dev/null; kill -9 "$c" 2>/dev/null; done
    kill -9 "$p" 2>/dev/null || true
  done
  if [ "$mode" = netns ]; then
    for i in $(seq 1 "$nodes"); do
      ip link del "veth-node$i" 2>/dev/null || true    # synchronous; netns teardown alone is lazy
      ip netns del "slurm-node$i" 2>/dev/null || true
    done
    ip link del "$BR" 2>/dev/null || true
  fi
  if [ -s "$STATE/accounts" ]; then
    while read -r a; do
      for p in $(ps -o pid= -u "$a" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done   # leftovers block userdel
      userdel "$a" 2>/dev/null || true
    done < "$STATE/accounts"
  fi
  rm -f "$FAKEDEV"/gpu*
  # slurmctld leaves its pid file behind; a stale /run/slurmctld.pid makes the slurmctld prerm run scancel
  rm -rf "$STATE" /run/slurmd-node*.pid /run/slurmctld.pid /run/munge/munged.pid
  [ -z "$REST_SOCKET" ] || rm -f "$REST_SOCKET"
}

status() {
  [ -s /run/slurmctld.pid ] && ! gone "$(cat /run/slurmctld.pid)" || { echo "slurmctld is not running" >&2; return 1; }
  [ -z "$REST_PORT" ] || curl -s -o /dev/null "http://127.0.0.1:$REST_PORT/" || { echo "slurmrestd is not answering on 127.0.0.1:$REST_PORT" >&2; return 1; }
  sinfo -N -o '%N %T %G'
}

case "${1:-}" in
  install) install_pkgs ;;
  up) up ;;
  down) down ;;
  status) status ;;
  kill-node) stop_pid "/run/slurmd-node${2:?node number}.pid" KILL ;;
  start-node)
    [ -s "$STATE/layout" ] && read -r MODE _ < "$STATE/layout"
    start_slurmd "${2:?node number}" ;;
  *) echo "usage: $0 install|up|down|status|kill-node N|start-node N" >&2; exit 2 ;;
esac
