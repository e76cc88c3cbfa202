# Counts the session action of each Windows JSON record from its EventID, Channel and
# LogonType alone (docs/semantics.md §5), independently of session-sigma's adapters.
# Usage: jq -r -f count.jq FILE | sort | uniq -c
def num: if type == "object" then .["#text"] else . end | tonumber? // null;
(.Event.System.EventID // .winlog.event_id // .event_id // .EventID | num) as $id
| (.Event.System.Channel // .winlog.channel // .log_name // .Channel // "") as $chan
| (.Event.EventData.LogonType // .winlog.event_data.LogonType // .event_data.LogonType // .LogonType
   | num) as $lt
| ((.Event.UserData.EventXML.Address // "") + (.Message // "")) as $lsm
| if ($chan | ascii_downcase) == "security" then
    if $id == 4624 then
      if $lt == 2 or $lt == 11 then "interactive"
      elif $lt == 3 or $lt == 8 then "remote"
      elif $lt == 10 or $lt == 12 then "rdp"
      elif $lt == 7 or $lt == 13 then "unlock"
      else "login" end
    elif $id == 4625 then "failed"
    elif $id == 4634 or $id == 4647 then "logout"
    elif $id == 4778 then "reconnect"
    elif $id == 4779 then "disconnect"
    elif $id == 4800 then "lock"
    elif $id == 4801 then "unlock"
    else "skipped" end
  elif $chan == "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational" then
    if $id == 21 then (if ($lsm | test("Address: LOCAL|^LOCAL")) then "interactive" else "rdp" end)
    elif $id == 23 then "logout"
    elif $id == 24 then "disconnect"
    elif $id == 25 then "reconnect"
    else "skipped" end
  else "skipped" end
