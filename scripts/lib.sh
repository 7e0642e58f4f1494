# SPDX-License-Identifier: ISC
# Shared by scripts/run, test, fuzz, bench and soak: what a fresh Debian 12
# machine needs, and how to install only what is missing.

# To build and run the daemon.
BUILD_PACKAGES="build-essential autoconf automake pkg-config libevent-dev
libcurl4-openssl-dev libjansson-dev libconfig-dev libsystemd-dev
libhiredis-dev curl"

# To run every test (Node and npm come from outside Debian: never apt them).
TEST_PACKAGES="python3-httpx python3-pytest python3-pytest-timeout
python3-prometheus-client clang
libclang-rt-14-dev libfuzzer-14-dev valgrind systemd groff-base man-db"
# The status page in a browser, the dashboard and alerts in Prometheus.
TEST_PACKAGES="$TEST_PACKAGES chromium chromium-driver python3-selenium
prometheus"
# Shared limits (SPEC 14): the tests start their own redis-server.
TEST_PACKAGES="$TEST_PACKAGES redis-server python3-redis"

# llmproxyctl top is driven in tmux; the Debian package is built from a
# clone (git) with dpkg-buildpackage and dh, and checked with lintian.
TEST_PACKAGES="$TEST_PACKAGES tmux git dpkg-dev debhelper lintian"

# To run scripts/bench: the load generator, the proxy to compare with,
# CPU pinning, and /usr/bin/python3 for the helpers.
BENCH_PACKAGES="wrk nginx-light util-linux procps python3 curl redis-server"

# Install each named Debian package that is not installed yet.
install_missing() {
	missing=""
	for pkg in "$@"; do
		if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
		    grep -q "install ok installed"; then
			missing="$missing $pkg"
		fi
	done
	[ -z "$missing" ] && return 0
	echo "llmproxyd: installing:$missing" >&2
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	$sudo apt-get update -qq
	# Packages such as redis-server, nginx and prometheus would start a
	# system service on install; the tests start their own instances on
	# free ports, so a policy-rc.d forbids service starts meanwhile.
	policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
		$sudo chmod 755 "$policy"
	fi
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
	    --no-install-recommends $missing
	status=$?
	[ -n "$policy" ] && $sudo rm -f "$policy"
	return $status
}

# Regenerate the build system when configure is missing or older.
ensure_configure() {
	if [ ! -x configure ] || [ configure.ac -nt configure ] ||
	    [ Makefile.am -nt configure ]; then
		autoreconf -fi
	fi
}
