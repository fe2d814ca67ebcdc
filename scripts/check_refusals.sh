#!/usr/bin/env bash
# Fails when a refusal in src/cluster carries English: a refusal there is typed (a Reason, a
# Field, values: cluster/cluster_error.h) and its text is written in src/api/refusal_text.cc
# alone. Flags any call of the refusal makers (Refuse, Refusal, Invalid*, *NotFound, *Exists,
# DefaultRefused, ValidateIdentifier, ValidateParamGroupName) whose arguments hold a string
# literal, and the old message-taking Refusal(kind, message). Status::NotFound(...) and the like
# are diagnostics (I/O, internal), not refusals; tests are not checked.
# Usage: check_refusals.sh SRC_CLUSTER_DIR
set -euo pipefail
dir=${1:?usage: check_refusals.sh SRC_CLUSTER_DIR}
ls "$dir"/*.cc >/dev/null
perl -0777 -ne '
  my $text = $_;
  while ($text =~ /\b(Refuse|Refusal|Invalid[A-Za-z]*|[A-Za-z]*NotFound|[A-Za-z]*Exists|DefaultRefused|ValidateIdentifier|ValidateParamGroupName)\s*\(/g) {
    my ($name, $start) = ($1, pos($text));
    # Status::NotFound(...) and the like are diagnostics, not refusals.
    next if substr($text, $-[0] - 2, 2) eq "::";
    my ($depth, $i, $in_str) = (1, $start, 0);
    my $args = "";
    while ($i < length($text) && $depth > 0) {
      my $c = substr($text, $i, 1);
      if ($in_str) {
        $in_str = 0 if $c eq q{"} && substr($text, $i - 1, 1) ne "\\";
      } elsif ($c eq q{"}) { $in_str = 1; }
      elsif ($c eq "(") { $depth++; }
      elsif ($c eq ")") { $depth--; }
      $args .= $c;
      $i++;
    }
    my $line = 1 + (substr($text, 0, $start) =~ tr/\n//);
    if ($name eq "Refusal" || $args =~ /"/) {
      print "$ARGV:$line: $name(" . substr($args, 0, 100) . "\n";
      $bad++;
    }
  }
  END { exit($bad ? 1 : 0) }
' $(ls "$dir"/*.cc "$dir"/*.h | grep -v '_test\.cc$') && echo "check_refusals: no English in src/cluster refusals"
