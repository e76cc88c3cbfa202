# Counts session actions per EVTX file with python-evtx (an independent decoder), from
# EventID, LogonType and the mapping table of docs/semantics.md §5.
import sys, os, re, collections
import Evtx.Evtx as evtx
from xml.etree import ElementTree as ET
NS = '{http://schemas.microsoft.com/win/2004/08/events/event}'
def action(eid, chan, data):
    if chan.lower() == 'security':
        lt = data.get('LogonType')
        lt = int(lt) if lt and lt.isdigit() else None
        if eid == 4624:
            return {2:'interactive',11:'interactive',3:'remote',8:'remote',10:'rdp',12:'rdp',7:'unlock',13:'unlock'}.get(lt,'login')
        return {4625:'failed',4634:'logout',4647:'logout',4778:'reconnect',4779:'disconnect',4800:'lock',4801:'unlock'}.get(eid)
    if chan == 'Microsoft-Windows-TerminalServices-LocalSessionManager/Operational':
        return {21:'rdp',23:'logout',24:'disconnect',25:'reconnect'}.get(eid)
    return None
for path in sys.argv[1:]:
    counts = collections.Counter()
    with evtx.Evtx(path) as log:
        for rec in log.records():
            try:
                root = ET.fromstring(rec.xml())
            except Exception as e:
                counts['unreadable'] += 1
                continue
            sysn = root.find(NS+'System')
            eid = int(sysn.find(NS+'EventID').text)
            chan = sysn.find(NS+'Channel').text or ''
            data = {}
            ed = root.find(NS+'EventData')
            if ed is not None:
                for d in ed:
                    if d.get('Name'): data[d.get('Name')] = d.text or ''
            a = action(eid, chan, data)
            counts[a or 'skipped'] += 1
    print(os.path.basename(path), dict(sorted(counts.items())))
