# Shared by scripts/run and scripts/test: install the Debian packages sandbank needs,
# but only those that are missing (checked with dpkg -s). Sourced, not executed.

SANDBANK_PACKAGES=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config clang libclang-rt-14-dev
  # Qt 6: widgets, QJSEngine (Qml), charts, svg, test
  qt6-base-dev qt6-declarative-dev qt6-charts-dev qt6-svg-dev libgl-dev
  # gRPC and Protobuf
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  # storage, tests, benchmarks, config
  libsqlite3-dev libgtest-dev libgmock-dev libbenchmark-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev
  # Boost 1.81 for Process v2 (1.74's v1 leaves zombies)
  libboost1.81-dev libboost-filesystem1.81-dev
  # benchmark baselines and headless GUI checks
  librdkafka-dev xvfb xauth imagemagick
)

sandbank_install_deps() {
  local missing=()
  local p
  for p in "${SANDBANK_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all ${#SANDBANK_PACKAGES[@]} packages present"
    return 0
  fi
  echo "deps: installing ${#missing[@]} missing packages: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q || return 1
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" || return 1
}
