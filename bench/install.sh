#!/bin/sh
# Install the Debian tools the benchmarks drive, when any is missing.
# Called by `python -m bench` when a tool is not on PATH; safe to run again.
set -e
need=""
command -v redis-benchmark >/dev/null 2>&1 || need="$need redis-tools"
command -v redis-server >/dev/null 2>&1 || need="$need redis-server"
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need="$need nginx-light"
command -v wrk >/dev/null 2>&1 || need="$need wrk"
command -v iperf3 >/dev/null 2>&1 || need="$need iperf3"
command -v memcached >/dev/null 2>&1 || [ -x /usr/bin/memcached ] || need="$need memcached"
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need="$need haproxy"
# redis-gen (bench/redis_gen.c) is built with the system cc on first use.
command -v cc >/dev/null 2>&1 || need="$need gcc libc6-dev"
if [ -z "$need" ]; then
    echo "bench/install.sh: all tools present"
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "bench/install.sh: installing$need"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends $need
# The Debian packages start their own services; the bench starts private
# instances on free loopback ports, so the system ones are not needed.
