# bash completion for knobctl (installed as /usr/share/bash-completion/completions/knobctl).
# Completes commands, options (and their values), and live target names asked of the running
# knobd (`knobctl targets`, honouring a --socket given on the line); nothing when knobd is not
# reachable. Tested by tests/integration/prometheus/completion_test.sh.

_knobctl_targets() {
  local sock=() i
  for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
    case ${COMP_WORDS[i]} in
      --socket=*) sock=(--socket "${COMP_WORDS[i]#--socket=}") ;;
      --socket | -s) sock=(--socket "${COMP_WORDS[i + 1]}") ;;
    esac
  done
  "${COMP_WORDS[0]}" "${sock[@]}" --timeout 2 --color=never targets 2>/dev/null |
    awk 'NR > 1 && $1 != "" { print $1 }'
}

_knobctl() {
  local cur prev words cword
  if declare -F _init_completion >/dev/null; then
    _init_completion -n = || return
  else
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  fi
  local commands="status targets show history explain pause resume mode reload restore check-config analyze top help"
  local options="--socket --json --limit --follow --all --interval --count --color --no-color --plot
    --sample-rate --timeout --version --help"

  case $prev in
    --socket | -s | --plot)
      COMPREPLY=($(compgen -f -- "$cur"))
      return
      ;;
    --color)
      COMPREPLY=($(compgen -W "auto always never" -- "$cur"))
      return
      ;;
    --limit | -n | --interval | -i | --count | -c | --timeout | -t | --sample-rate)
      return
      ;;
  esac
  if [[ $cur == --color=* ]]; then
    COMPREPLY=($(compgen -W "auto always never" -- "${cur#--color=}"))
    return
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$options" -- "$cur"))
    return
  fi

  # The command is the first word that is neither an option nor an option's value.
  local i cmd="" nargs=0
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      --socket | -s | --limit | -n | --interval | -i | --count | -c | --timeout | -t | --plot | \
        --sample-rate | --color)
        ((i++)) ;;
      -*) ;;
      *)
        if [[ -z $cmd ]]; then cmd=${words[i]}; else ((nargs++)); fi
        ;;
    esac
  done
  if [[ -z $cmd ]]; then
    COMPREPLY=($(compgen -W "$commands" -- "$cur"))
    return
  fi
  case $cmd in
    show | history | explain | pause | resume | restore)
      ((nargs == 0)) && COMPREPLY=($(compgen -W "$(_knobctl_targets)" -- "$cur"))
      ;;
    mode)
      if ((nargs == 0)); then
        COMPREPLY=($(compgen -W "$(_knobctl_targets)" -- "$cur"))
      elif ((nargs == 1)); then
        COMPREPLY=($(compgen -W "observe recommend apply" -- "$cur"))
      fi
      ;;
    analyze)
      if ((nargs == 0)); then
        COMPREPLY=($(compgen -W "usl mrc" -- "$cur"))
      else
        COMPREPLY=($(compgen -f -- "$cur"))
      fi
      ;;
    check-config)
      COMPREPLY=($(compgen -f -- "$cur"))
      ;;
    help)
      COMPREPLY=($(compgen -W "$commands" -- "$cur"))
      ;;
  esac
}
complete -F _knobctl knobctl
