# The common part of infra/nginx/render.sh and infra/haproxy/render.sh: options, filling a
# template's @NAME@ placeholders, writing the result. Sourced (after `set -euo pipefail`), not run.
#
#   parse_options "--workers --server-name ..." "$@"   # --server-name V sets $server_name
#   config=$(<"$here/some.template")
#   fill NAME "$value"        # every @NAME@ becomes the value, less one trailing newline
#   fill_line NAME "$value"   # the same, but an empty value takes the placeholder's line away
#   write_config "$out"       # refuses a placeholder left over; to stdout when $out is empty

# Bash 5.2 would read `&` in a replacement as the matched text; a value is inserted as it is.
shopt -u patsub_replacement 2>/dev/null || true

die() { echo "${0##*/}: $*" >&2; exit 2; }

# Every option takes a value; only the listed ones are known.
parse_options() {
    local known=" ${1//[[:space:]]/ } " name
    shift
    while [ $# -gt 0 ]; do
        [ $# -ge 2 ] || die "$1 needs a value"
        [[ $1 == --* && $known == *" $1 "* ]] || die "unknown option $1"
        name=${1#--}
        printf -v "${name//-/_}" '%s' "$2"
        shift 2
    done
}

whole_number() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }

fill() { config=${config//"@$1@"/${2%$'\n'}}; }

fill_line() {
    if [ -z "$2" ]; then
        config=${config//"@$1@"$'\n'/}
    fi
    fill "$1" "$2"
}

write_config() {
    if [[ $config =~ @[A-Z_]+@ ]]; then
        die "placeholder ${BASH_REMATCH[0]} left unfilled"
    fi
    if [ -n "$1" ]; then
        printf '%s\n' "$config" >"$1.tmp"
        mv "$1.tmp" "$1"
    else
        printf '%s\n' "$config"
    fi
}
