# SPDX-License-Identifier: Apache-2.0
"""POST /v1/txs, the batch submission, on a real master: every element is
answered in the order sent with its own status, hash and log index or
error; a bad signature, a wrong nonce, a malformed element and an overdraft
each get their own clear error and change nothing, while the good elements
around them (including a chain of two from one account) are applied; an
oversized batch or body is refused whole with 413 and changes nothing; and
`ledger verify --from-genesis` passes afterwards. Transactions are built
and signed here, byte for byte as docs/ledger.md specifies, with an
independent Ed25519 and BLAKE2b implementation."""
import hashlib
import json
import os
import struct
import subprocess
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from harness import BIN, Cloud, check, finish

CHAIN = "deepcloud-dev"
TAG = b"deepcloud/tx/v1"
BATCH_MAX = 1000


class Key:
    def __init__(self):
        self.sk = Ed25519PrivateKey.generate()
        self.pk = self.sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.nonce = 0
        self.head = bytes(32)

    def hex(self):
        return self.pk.hex()

    def transfer(self, to, amount, nonce=None, bad_sig=False, advance=True):
        """Hex of a signed transfer (kind 1) and its hash; the key's chain
        advances only when the caller expects it to be applied."""
        n = self.nonce + 1 if nonce is None else nonce
        body = (struct.pack(">BB", 1, 1) + self.pk + struct.pack(">Q", n) + self.head
                + to + struct.pack(">Q", amount))
        msg = TAG + struct.pack(">I", len(CHAIN)) + CHAIN.encode() + body
        sig = bytearray(self.sk.sign(msg))
        if bad_sig:
            sig[5] ^= 0x01
        h = hashlib.blake2b(body, digest_size=32).digest()
        if advance:
            self.nonce, self.head = n, h
        return (body + bytes(sig)).hex(), h.hex()


def account(k):
    st, a = cloud.get(f"/v1/accounts/{k.hex()}")
    return a


def post_batch(txs):
    return cloud.http("POST", "/v1/txs", json.dumps({"txs": txs}))


cloud = Cloud(providers=1, restart=False)
try:
    a, b, c, d = Key(), Key(), Key(), Key()
    for k in (a, b, c):
        st, r = cloud.http("POST", "/v1/faucet",
                           json.dumps({"account": k.hex(), "amount": 10_000_000}))
        check(st == 200, f"faucet funds {k.hex()[:8]} ({st} {r})")
    before = {k.hex(): account(k) for k in (a, b, c, d)}

    a1, a1h = a.transfer(d.pk, 1_000)
    a2, a2h = a.transfer(d.pk, 2_000)            # chained on a1, same batch
    bad, badh = b.transfer(d.pk, 5_000, bad_sig=True, advance=False)
    wrong, wrongh = c.transfer(d.pk, 7_000, nonce=5, advance=False)
    over, overh = c.transfer(d.pk, 10_000_001, advance=False)
    b1, b1h = b.transfer(d.pk, 3_000)
    batch = [a1, a2, bad, wrong, "zz", over, 17, b1]
    st, r = post_batch(batch)
    check(st == 200, f"a mixed batch is answered as a whole ({st})")
    res = r["results"]
    check(len(res) == len(batch), f"one answer per element ({len(res)})")
    check(r["accepted"] == 3 and r["refused"] == 5,
          f"3 accepted, 5 refused ({r['accepted']}, {r['refused']})")
    check([x["status"] for x in res] == [200, 200, 401, 409, 400, 400, 400, 200],
          f"statuses in the order sent ({[x['status'] for x in res]})")
    check(res[0]["hash"] == a1h and res[1]["hash"] == a2h and res[7]["hash"] == b1h,
          "each accepted element names its own transaction")
    check(res[0]["index"] < res[1]["index"],
          f"a chain of one account keeps its order ({res[0]['index']} < {res[1]['index']})")
    check(res[2]["error"]["code"] == "BADSIG" and res[2]["hash"] == badh,
          f"a bad signature is refused on its own ({res[2]['error']})")
    check(res[3]["error"]["code"] == "CONFLICT" and "nonce" in res[3]["error"]["message"],
          f"a wrong nonce says so ({res[3]['error']})")
    check(res[4]["error"]["code"] == "INVAL" and res[6]["error"]["code"] == "INVAL",
          f"malformed elements are refused ({res[4]['error']['code']}, {res[6]['error']['code']})")
    check(res[5]["status"] == 400 and "error" in res[5] and res[5]["hash"] == overh,
          f"an overdraft is refused by the ledger's rules ({res[5]['error']})")
    for h in (a1h, a2h, b1h):
        st, t = cloud.get(f"/v1/tx/{h}")
        check(st == 200 and t["kind"] == "transfer", f"accepted {h[:8]} is in the ledger")
    for h in (badh, wrongh, overh):
        st, _ = cloud.get(f"/v1/tx/{h}")
        check(st == 404, f"refused {h[:8]} is not")
    after = {k.hex(): account(k) for k in (a, b, c, d)}
    check(after[a.hex()]["balance"] == before[a.hex()]["balance"] - 3_000
          and after[a.hex()]["nonce"] == 2, "a paid exactly its two transfers")
    check(after[b.hex()]["balance"] == before[b.hex()]["balance"] - 3_000
          and after[b.hex()]["nonce"] == 1, "b paid only its good transfer")
    check(after[c.hex()] == before[c.hex()], "c, whose transfers were all refused, is unchanged")
    check(after[d.hex()]["balance"] == 6_000, f"d received 6000 ({after[d.hex()]['balance']})")

    # Refused whole: more elements than the cap, a body over 1 MiB, not a list.
    big = [a.transfer(d.pk, 1, advance=False)[0]] * (BATCH_MAX + 1)
    st, r = post_batch(big)
    check(st == 413 and r["error"]["code"] == "TOOBIG",
          f"a batch of {BATCH_MAX + 1} is refused whole ({st})")
    body = json.dumps({"txs": ["00" * 500] * 1100}).encode()
    head = (b"POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body))
    st, r = cloud.raw(head, body[:4096])
    check(st == 413, f"a body over 1 MiB ({len(body)} bytes) is refused ({st})")
    for body in ('{"txs": []}', '{"txs": "ab"}', '{"tx": "ab"}', "not json"):
        st, r = cloud.http("POST", "/v1/txs", body)
        check(st == 400 and r["error"]["code"] == "INVAL", f"{body!r} is refused ({st})")
    check(account(a) == after[a.hex()], "nothing changed after the refused batches")

    # A batch of the cap's size: every element its own result, all applied.
    txs = [a.transfer(d.pk, 1) for _ in range(BATCH_MAX)]
    st, r = post_batch([t for t, _ in txs])
    check(st == 200 and r["accepted"] == BATCH_MAX,
          f"a full batch of {BATCH_MAX} chained transfers is applied ({st}, "
          f"{r.get('accepted') if isinstance(r, dict) else r})")
    check([x["hash"] for x in r["results"]] == [h for _, h in txs],
          "and answered in the order sent")
    check(account(a)["nonce"] == 2 + BATCH_MAX, "the account's nonce moved by exactly that")

    # POST /v1/tx is unchanged.
    one, oneh = b.transfer(d.pk, 10)
    st, r = cloud.http("POST", "/v1/tx", json.dumps({"tx": one}))
    check(st == 200 and r["hash"] == oneh, f"POST /v1/tx still takes one ({st})")

    time.sleep(1.5)  # let a block seal the tail
    r = subprocess.run([BIN, "ledger", "verify", "--from-genesis", "--data",
                        os.path.join(cloud.dir, "cloud", "master")],
                       capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, f"ledger verify --from-genesis passes ({r.stdout.strip()} "
          f"{r.stderr.strip()})")
finally:
    cloud.stop()
finish()
