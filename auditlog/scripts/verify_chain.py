#!/usr/bin/env python3
"""Re-verify an otelaudit chain with nothing but the Python standard library.

    python3 verify_chain.py STORE_DIR [CHAIN ...]

For every chain (default: every subdirectory of STORE_DIR) it checks, record
by record, that

  * hash == SHA-256 of the RFC 8785 (JCS) canonical JSON of the record
    without its "hash" member,
  * prev_hash == the previous record's hash (64 zeros first), seq is 0, 1, 2...
    (an integer: JSON true is not 1),
  * each line is exactly that canonical form plus "hash",
  * chain_id is the same on every record and ends in "/" + the chain's
    directory name, and each segment file is named for its first seq,

that the RFC 6962 Merkle root over the records (leaf i = SHA-256 of
0x00 || canonical bytes of record i without "hash") equals the root of the
chain's latest checkpoint and of every checkpoint in checkpoints/ (C2SP
tlog-checkpoint: origin = the chain_id, size, base64 root), and that each
sealed segment file has the size and digest its seal states: the SHA-256 of
the file (v2 seals), or the SHA-256 of each record's leaf hash followed by
its record hash (v3 seals, segment_records_sha256). A prune marker ("prune"
file) lets it start from the cut: its frontier stands for the removed
records, and segments wholly below the cut (left by an interrupted prune)
are passed over, as otelaudit verify does. A v2 marker's run, holds, hold
and release lines, and legal_hold.seen, state legal holds, not records:
they are not read here.

Not checked (otelaudit verify does): signatures (Ed25519 is not in the
standard library; see README: note format), checkpoints below the prune
cut, the seals' other lines, summaries, the seal index, tree.hashes, one
chain in two directories, and a saved checkpoint (--since-checkpoint).

Exit status: 0 when every chain verifies, 1 otherwise, 2 without STORE_DIR.
"""

import base64
import decimal
import hashlib
import json
import math
import os
import sys

ZERO = "0" * 64


def es6_number(x):
    """Format a number as ECMAScript Number.prototype.toString does."""
    if isinstance(x, bool):
        raise ValueError("bool is not a number")
    if isinstance(x, int):
        if abs(x) <= 2**53 - 1:
            return str(x)
        x = float(x)
    if math.isnan(x) or math.isinf(x):
        raise ValueError("NaN and Infinity are not JSON")
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    # repr() gives the shortest digits that round-trip, as ECMAScript does.
    t = decimal.Decimal(repr(abs(x))).as_tuple()
    digits = "".join(map(str, t.digits)).rstrip("0") or "0"
    k = len(digits)
    n = len("".join(map(str, t.digits))) + t.exponent  # value = 0.digits * 10**n
    if k <= n <= 21:
        s = digits + "0" * (n - k)
    elif 0 < n <= 21:
        s = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        s = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        exp = ("e+" if e >= 0 else "e-") + str(abs(e))
        s = digits + exp if k == 1 else digits[0] + "." + digits[1:] + exp
    return sign + s


def jcs(v):
    """RFC 8785 canonical JSON of a parsed value."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        # json.dumps escapes exactly '"', '\\' and control characters,
        # with lowercase \u00xx, as JCS requires, when ensure_ascii=False.
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (int, float)):
        return es6_number(v)
    if isinstance(v, list):
        return "[" + ",".join(jcs(x) for x in v) + "]"
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(jcs(k) + ":" + jcs(v[k]) for k in keys) + "}"
    raise ValueError("not JSON: %r" % (v,))


def no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError("duplicate member %r" % k)
        d[k] = v
    return d


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


class Frontier:
    """Roots of the maximal complete subtrees of an RFC 6962 tree."""

    def __init__(self, n=0, hashes=None):
        self.n = n
        self.hashes = list(hashes or [])

    def push(self, leaf):
        h, k = leaf, self.n
        while k & 1:
            h = node_hash(self.hashes.pop(), h)
            k >>= 1
        self.hashes.append(h)
        self.n += 1

    def root(self):
        if not self.hashes:
            return hashlib.sha256(b"").digest()
        h = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            h = node_hash(left, h)
        return h


def note_text(path):
    """The text of a signed note: everything before the blank line."""
    with open(path, "rb") as f:
        msg = f.read().decode("utf-8")
    return msg[: msg.rindex("\n\n") + 1]


def read_checkpoint(path):
    origin, size, root = note_text(path).splitlines()[:3]
    return (origin, int(size), base64.b64decode(root))


def below_cut(name, data, cut):
    """A segment an interrupted prune left: named, and every record, below the cut."""
    if not name[:-6].isdigit() or int(name[:-6]) >= cut:
        return False
    try:
        seqs = [json.loads(l)["seq"] for l in data.split(b"\n")[:-1]]
    except Exception:
        return False
    return all(type(s) is int and s < cut for s in seqs)


def verify_chain(chain_dir):
    problems = []
    seq, prev, front, cut = 0, ZERO, Frontier(), 0
    prune = os.path.join(chain_dir, "prune")
    if os.path.exists(prune):
        kv = dict(l.split(" ", 1) for l in note_text(prune).splitlines()[1:])
        cut = int(kv["cut"])
        fr = [base64.b64decode(h) for h in kv["frontier"].split()]
        seq, prev, front = cut, kv["last_hash"], Frontier(cut, fr)
    cp = None
    if os.path.exists(os.path.join(chain_dir, "checkpoint")):
        cp = read_checkpoint(os.path.join(chain_dir, "checkpoint"))
    # Every checkpoint by size, the history's and the latest.
    cps = {}
    hist = os.path.join(chain_dir, "checkpoints")
    for h in sorted(os.listdir(hist)) if os.path.isdir(hist) else []:
        if not h.endswith(".tmp"):
            c = read_checkpoint(os.path.join(hist, h))
            cps.setdefault(c[1], []).append(("checkpoints/" + h, c))
    if cp:
        cps.setdefault(cp[1], []).append(("checkpoint", cp))
    chain_id = None
    suffix = "/" + os.path.basename(os.path.normpath(chain_dir))

    def check_roots():
        for file, c in cps.pop(front.n, []):
            if c[2] != front.root() or (chain_id and c[0] != chain_id):
                problems.append("%s: origin or Merkle root of the first %d records does not match" % (file, c[1]))

    check_roots()
    segments = sorted(f for f in os.listdir(chain_dir) if f.endswith(".jsonl"))
    for name in segments:
        with open(os.path.join(chain_dir, name), "rb") as f:
            data = f.read()
        if cut and below_cut(name, data, cut):
            continue  # removed by a prune that was killed before deleting it
        if name != "%020d.jsonl" % seq:
            problems.append("%s: segment is not named for its first seq %d" % (name, seq))
        seal = os.path.join(chain_dir, name[: -len(".jsonl")] + ".seal")
        seal_kv = {}
        if os.path.exists(seal):
            seal_kv = dict(l.split(" ", 1) for l in note_text(seal).splitlines()[1:])
            if "segment_sha256" in seal_kv and (
                int(seal_kv["segment_bytes"]) != len(data) or hashlib.sha256(data).hexdigest() != seal_kv["segment_sha256"]
            ):
                problems.append("%s: file does not match the size and SHA-256 in its seal" % name)
        records_digest = hashlib.sha256()  # for a v3 seal
        lines = data.split(b"\n")
        if lines[-1] != b"":
            problems.append("%s: trailing bytes without newline" % name)
        for line in lines[:-1]:
            where = "%s seq %d" % (name, seq)
            try:
                rec = json.loads(line.decode("utf-8"), object_pairs_hook=no_duplicates)
                claimed = rec.pop("hash")
                body = jcs(rec).encode("utf-8")
            except Exception as e:  # malformed line
                problems.append("%s: not a record: %s" % (where, e))
                continue
            if hashlib.sha256(body).hexdigest() != claimed:
                problems.append("%s: content does not match its hash" % where)
            rec["hash"] = claimed
            if jcs(rec).encode("utf-8") != line:
                problems.append("%s: line is not in canonical form" % where)
            if type(rec["seq"]) is not int or rec["seq"] != seq:
                problems.append("%s: found seq %r" % (where, rec["seq"]))
            if rec["prev_hash"] != prev:
                problems.append("%s: prev_hash does not link" % where)
            chain_id = chain_id or rec["chain_id"]
            if rec["chain_id"] != chain_id or not str(chain_id).endswith(suffix):
                problems.append("%s: chain_id %r is not this directory's chain" % (where, rec["chain_id"]))
            seq, prev = seq + 1, claimed
            leaf = hashlib.sha256(b"\x00" + body).digest()
            front.push(leaf)
            check_roots()
            try:
                records_digest.update(leaf + bytes.fromhex(claimed))
            except (TypeError, ValueError):  # not hex: reported above
                records_digest.update(b"-")
        if "segment_records_sha256" in seal_kv and (
            int(seal_kv["segment_bytes"]) != len(data)
            or records_digest.hexdigest() != seal_kv["segment_records_sha256"]
        ):
            problems.append("%s: records do not match the size and digest in its seal" % name)
    for size in sorted(cps):
        if size > front.n:
            problems.append("%s covers %d records, chain has %d" % (cps[size][0][0], size, front.n))
    return seq, cp, problems


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    store = argv[1]
    chains = argv[2:] or sorted(
        d for d in os.listdir(store) if os.path.isdir(os.path.join(store, d)) and not d.startswith(".")
    )
    ok = True
    for chain in chains:
        size, cp, problems = verify_chain(os.path.join(store, chain))
        for p in problems:
            print("FAIL chain=%s %s" % (chain, p))
        if problems:
            ok = False
        else:
            cpdesc = "checkpoint %s size %d root matches" % (cp[0], cp[1]) if cp else "no checkpoint"
            print("OK chain=%s records up to seq %d, %s" % (chain, size - 1, cpdesc))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
