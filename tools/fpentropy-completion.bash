# bash completion for fpentropy (installed as share/bash-completion/completions/fpentropy).
# SPDX-License-Identifier: GPL-3.0-or-later
# Standalone: needs only bash's `complete`/`compgen`, not the bash-completion package.
_fpentropy()
{
  local cur prev cmd i
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  local commands="run check verify sample compare policy calibrate debt-study sweep help"
  cmd=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in -*) ;; *) cmd=${COMP_WORDS[i]}; break ;; esac
  done
  if [[ -z $cmd ]]; then
    COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
    return
  fi
  case $prev in
    -o|--output) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --format) COMPREPLY=($(compgen -W "bin csv" -- "$cur")); return ;;
    --error-estimate) COMPREPLY=($(compgen -W "on verify off" -- "$cur")); return ;;
    --policy)
      COMPREPLY=($(compgen -W "none calendar threshold alarm cusum performance debt" -- "$cur")); return ;;
    --estimators)
      COMPREPLY=($(compgen -W "knn gauss hist kde wkv" -- "$cur")); return ;;
    -s|--set|--particles|--replicas|--seed|--dt|--threads|--cost|--grid|--jobs|--reps) return ;;
  esac
  local opts="-o --output -s --set -q --quiet --progress -h --help"
  case $cmd in
    help) COMPREPLY=($(compgen -W "${commands% help}" -- "$cur")); return ;;
    run|verify) opts="$opts --error-estimate" ;;
    sample) opts="$opts --particles --replicas --seed --dt --threads --format" ;;
    compare|calibrate) opts="$opts --particles --replicas --seed --dt --threads --estimators" ;;
    policy) opts="$opts --particles --replicas --seed --dt --threads --estimators --policy --cost" ;;
    sweep) opts="$opts --grid --zip --jobs --command --table --restart --list" ;;
    debt-study) opts="-o --reps --seed --threads --block --trace -q -h --help" ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -X '!*.ini' -- "$cur") $(compgen -d -- "$cur"))
  fi
}
complete -F _fpentropy fpentropy
