#!/usr/bin/env python3
"""Re-verify an otelaudit chain with nothing but the Python standard library.

    python3 verify_chain.py STORE_DIR [CHAIN ...]

For every chain (default: every subdirectory of STORE_DIR) it checks, record
by record, that

  * hash == SHA-256 of the RFC 8785 (JCS) canonical JSON of the record
    without its "hash" member,
  * prev_hash == the previous record's hash (64 zeros first), seq is 0, 1, 2...
  * each line is exactly that canonical form plus "hash",

that the RFC 6962 Merkle root over the records (leaf i = SHA-256 of
0x00 || canonical bytes of record i without "hash") equals the root in the
chain's latest checkpoint (C2SP tlog-checkpoint: origin, size, base64 root),
and that each sealed segment file has the size and digest its seal states:
the SHA-256 of the file (v2 seals), or the SHA-256 of each record's leaf hash
followed by its record hash (v3 seals, segment_records_sha256). A prune marker ("prune" file) lets it start from the cut: its
frontier stands for the removed records.

Signatures are not checked: Ed25519 is not in the standard library. Check
them with any Ed25519 implementation (see README: note format) or with
`otelaudit verify`.

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


def verify_chain(chain_dir):
    problems = []
    seq, prev, front = 0, ZERO, Frontier()
    prune = os.path.join(chain_dir, "prune")
    if os.path.exists(prune):
        kv = dict(l.split(" ", 1) for l in note_text(prune).splitlines()[1:])
        cut = int(kv["cut"])
        fr = [base64.b64decode(h) for h in kv["frontier"].split()]
        seq, prev, front = cut, kv["last_hash"], Frontier(cut, fr)
    cp = None
    if os.path.exists(os.path.join(chain_dir, "checkpoint")):
        origin, size, root = note_text(os.path.join(chain_dir, "checkpoint")).splitlines()[:3]
        cp = (origin, int(size), base64.b64decode(root))
    cp_root = None  # Merkle root of the first cp[1] records
    segments = sorted(f for f in os.listdir(chain_dir) if f.endswith(".jsonl"))
    for name in segments:
        with open(os.path.join(chain_dir, name), "rb") as f:
            data = f.read()
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
            if rec["seq"] != seq:
                problems.append("%s: found seq %s" % (where, rec["seq"]))
            if rec["prev_hash"] != prev:
                problems.append("%s: prev_hash does not link" % where)
            seq, prev = rec["seq"] + 1, claimed
            leaf = hashlib.sha256(b"\x00" + body).digest()
            front.push(leaf)
            try:
                records_digest.update(leaf + bytes.fromhex(claimed))
            except (TypeError, ValueError):  # not hex: reported above
                records_digest.update(b"-")
            if cp and front.n == cp[1]:
                cp_root = front.root()
        if "segment_records_sha256" in seal_kv and (
            int(seal_kv["segment_bytes"]) != len(data)
            or records_digest.hexdigest() != seal_kv["segment_records_sha256"]
        ):
            problems.append("%s: records do not match the size and digest in its seal" % name)
    if cp:
        if cp_root is None and cp[1] == front.n:
            cp_root = front.root()
        if cp_root is None:
            problems.append("checkpoint covers %d records, chain has %d" % (cp[1], front.n))
        elif cp_root != cp[2]:
            problems.append("Merkle root of the first %d records does not match the checkpoint" % cp[1])
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
