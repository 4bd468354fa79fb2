#!/usr/bin/env python3
"""fuzz/make_seeds.py: writes the seed corpora of the parser fuzz targets
(fuzz/corpus/{capsule,stream_hdr,settings,varint_datagram,steer,
connect,moq}/). The
engine_server corpus is recorded by gen_seeds (fuzz/gen_seeds.c) instead.

  python3 fuzz/make_seeds.py [fuzz/corpus]

Input layouts are those documented at the top of each fuzz/fuzz_NAME.c."""
import os
import struct
import sys


def vi(v, n=None):
    """QUIC varint of v, minimal unless n (1, 2, 4, 8) forces a length."""
    if n is None:
        n = 1 if v < 64 else 2 if v < 16384 else 4 if v < 2**30 else 8
    bits = {1: 0, 2: 1, 4: 2, 8: 3}[n]
    return ((bits << (8 * n - 2)) | v).to_bytes(n, "big")


SEED = bytes([1, 2, 3, 4, 5, 6, 7, 8])
SEED2 = bytes([0xFF, 0x10, 0x77, 0x00, 0x3C, 0x81, 0x42, 0x09])


def capsule(t, val):
    return vi(t) + vi(len(val)) + val


CLOSE, DRAIN, MAX_DATA, MAX_SB, DATA_BLOCKED = 0x2843, 0x78AE, 0x190B4D3D, 0x190B4D3F, 0x190B4D41


def seeds_capsule():
    close = capsule(CLOSE, struct.pack(">I", 0x77) + "bye ✓".encode())
    drain = capsule(DRAIN, b"")
    grease = capsule(0x29 * 3 + 0x17, b"G" * 40)
    fc = capsule(MAX_DATA, vi(1 << 20)) + capsule(MAX_SB, vi(100, 2)) + capsule(DATA_BLOCKED, vi(5))
    return {
        "close": b"\x00" + SEED + close,
        "close_split": b"\x00" + SEED2 + close + drain,
        "drain_grease": b"\x00" + SEED + grease + drain + close,
        "flow_control": b"\x01" + SEED + fc + close,
        "flow_control_off": b"\x00" + SEED2 + fc + drain,
        "close_long": b"\x00" + SEED + capsule(CLOSE, b"\x00\x00\x01\x00" + b"r" * 1024),
        "close_too_long": b"\x00" + SEED + capsule(CLOSE, b"\x00" * 4 + b"x" * 1025),
        "close_bad_utf8": b"\x00" + SEED + capsule(CLOSE, b"\x00\x00\x00\x01\xff\xfe"),
        "truncated": b"\x00" + SEED + close[:-3],
        "nonminimal": b"\x00" + SEED + vi(CLOSE, 8) + vi(6, 4) + b"\x00\x00\x00\x02ok",
    }


def seeds_stream_hdr():
    return {
        "bidi_wt": b"\x01" + SEED + vi(0x41) + vi(0) + b"hello wtcast",
        "bidi_wt_long": b"\x01" + SEED2 + vi(0x41, 8) + vi(4 * 1000, 8) + b"payload",
        "uni_wt": b"\x00" + SEED + vi(0x54) + vi(4, 2) + b"uni payload",
        "bidi_h3": b"\x01" + SEED + vi(0x01) + vi(5) + b"\x00\x00\xd1\xd7\x50" + b"more",
        "uni_control": b"\x00" + SEED + vi(0x00) + vi(0x04) + vi(2) + vi(0x01) + vi(0),
        "uni_qpack": b"\x00" + SEED2 + vi(0x02) + b"\x3f\xe1\x1f",
        "bad_session": b"\x01" + SEED + vi(0x41) + vi(6) + b"x",
        "grease": b"\x00" + SEED + vi(0x1F * 7 + 0x21, 4) + b"grease",
    }


def setting_extra(sel, idv=0, value=0):
    return bytes([sel]) + idv.to_bytes(3, "big") + value.to_bytes(4, "big")


def settings_frame(pairs):
    payload = b"".join(vi(i) + vi(v) for i, v in pairs)
    return vi(0x04) + vi(len(payload)) + payload


def seeds_settings():
    nghttp3 = [(0x01, 0), (0x06, 65536), (0x07, 0), (0x08, 1), (0x33, 1)]
    ctrl = vi(0x00) + settings_frame(nghttp3)
    goaway = vi(0x07) + vi(1) + vi(0)
    # compat extras: known ids 5 (0xffd277), 6 (0x2b603742), 7 (0xc671706a) via sel & 0x80
    compat = setting_extra(0x80 | 5, 0, 1) + setting_extra(0x80 | 6, 0, 1) + setting_extra(0x80 | 7, 0, 16)
    return {
        "nghttp3_compat": bytes([3]) + SEED + compat + ctrl + goaway,
        "no_extras": bytes([0]) + SEED2 + ctrl,
        "extra_present": bytes([2]) + SEED + setting_extra(0x80 | 3, 0, 1) + setting_extra(0, 0x1234, 7) + ctrl,
        "extra_dups": bytes([4]) + SEED + setting_extra(0, 0x40, 1) + setting_extra(0, 0x40, 2)
        + setting_extra(0x30, 0x41, 1) + setting_extra(0x40, 0x42, 3) + ctrl,
        "grease": bytes([1]) + SEED + setting_extra(0x80 | 13, 0, 5) + vi(0x00)
        + settings_frame([(0x21 + 0x1F * 5, 9)] + nghttp3),
        "dup_id": bytes([0]) + SEED + vi(0x00) + settings_frame([(0x06, 1), (0x06, 2)]),
        "reserved_h2": bytes([0]) + SEED + vi(0x00) + settings_frame([(0x02, 1)]),
        "not_settings": bytes([1]) + SEED + setting_extra(0, 9, 9) + vi(0x00) + goaway,
        "odd_payload": bytes([0]) + SEED + vi(0x00) + vi(0x04) + vi(3) + vi(0x06) + vi(100, 2),
        "nonminimal": bytes([1]) + SEED2 + setting_extra(0x80 | 9, 0, 1) + vi(0x00, 4) + vi(0x04, 2)
        + vi(4, 8) + vi(0x08) + vi(1) + vi(0x33) + vi(1),
    }


def seeds_varint_datagram():
    out = {}
    for n, v in ((1, 37), (2, 15293), (4, 494878333), (8, 151288809941952652)):
        out["varint%d" % n] = vi(v, n) + b"rest"
    out["nonminimal"] = vi(4, 8) + b"payload"
    out["dgram_session0"] = vi(0) + b"dgram"
    out["dgram_quarter_max"] = vi((1 << 60) - 1, 8) + b"x"
    out["dgram_too_big"] = vi(1 << 60, 8) + b"x"
    out["errmap_first"] = struct.pack(">Q", 0x52E4A40FA8DB) + struct.pack(">I", 0)
    out["errmap_last"] = struct.pack(">Q", 0x52E5AC983162 | (1 << 63)) + struct.pack(">I", 0xFFFFFFFF)
    return out


def seeds_steer():
    dcid = bytes(range(0x10, 0x20))
    initial = b"\xc0\x00\x00\x00\x01" + bytes([len(dcid)]) + dcid + b"\x08" + b"S" * 8 + b"\x00" * 20
    short = b"\x40" + dcid + b"\x00" * 20
    return {
        "initial_3shards": bytes([2, 1, 16]) + initial,
        "short_4shards": bytes([3, 2, 8]) + short,
        "one_shard": bytes([0, 0, 20]) + short,
        "256_shards": bytes([255, 200, 12]) + initial,
        "too_short": bytes([5, 3, 9]) + b"\xc0\x00\x00",
        "table_ops": bytes([7, 1, 3]) + bytes([0x20, 1, 0x24, 1, 0x21, 2, 0x22, 1, 0x50, 1, 0x4E, 1, 0x20, 1]),
    }


def seeds_connect():
    def rec(kind, val):
        return bytes([kind]) + len(val).to_bytes(2, "big") + val

    def req(method=b"CONNECT", protocol=b"webtransport", scheme=b"https", authority=b"localhost:4433",
            path=b"/echo", origin=None):
        r = b""
        for k, v in ((0, method), (1, protocol), (2, scheme), (3, authority), (4, path), (5, origin)):
            if v is not None:
                r += rec(k, v)
        return r

    allow = rec(7, b"https://good.example") + rec(7, b"https://other.example")
    return {
        "browser": b"\x00" + req(origin=b"https://good.example") + rec(6, b"gzip") + allow,
        "h3_draft": b"\x00" + req(protocol=b"webtransport-h3", path=b"/source?n=1000"),
        "evil_origin": b"\x00" + req(origin=b"https://evil.example") + allow,
        "get": b"\x00" + req(method=b"GET", protocol=None),
        "fin": b"\x01" + req(),
        "no_path": b"\x00" + req(path=None),
        "relative_path": b"\x00" + req(path=b"echo"),
        "http_scheme": b"\x00" + req(scheme=b"http"),
        "empty_authority": b"\x00" + req(authority=b""),
        "websocket": b"\x00" + req(protocol=b"websocket"),
        "dup_first_wins": b"\x00" + req() + rec(0, b"GET") + rec(4, b"/other"),
        "nul_in_path": b"\x00" + req(path=b"/echo\x00x") + rec(4, b"/echo"),
        "oversized_path": b"\x00" + req(path=b"/" + b"a" * 8192) + rec(4, b"/ok"),
        "max_path": b"\x00" + req(path=b"/" + b"b" * 8191),
    }


def seeds_moq():
    """fuzz_moq: moq-lite streams built from tests/data/moq_vectors.txt (the
    @moq/net client's own bytes)."""
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "moq_vectors.txt")
    v = {}
    with open(path) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                name, hx = line.split()
                v[name] = bytes.fromhex(hx)
    # byte 0: bit 0 = moq-lite-04, bits 1..2 = 0 opener / 1 acceptor / 2 group stream
    c3, c4, a3, a4, g4 = b"\x00", b"\x01", b"\x02", b"\x03", b"\x05"
    frames = v["frame"] * 3 + vi(300) + b"f" * 300 + vi(0)
    return {
        "announce_please_03": c3 + SEED + vi(1) + v["announce_please_03"],
        "announce_please_04": c4 + SEED2 + vi(1) + v["announce_please_04"],
        "subscribe_03": c3 + SEED + vi(2) + v["subscribe_03"],
        "subscribe_updates_04": c4 + SEED2 + vi(2) + v["subscribe_04"] + v["subscribe_update_04"] * 2,
        "fetch_04": c4 + SEED + vi(3) + v["fetch_04"],
        "goaway_04": c4 + SEED + vi(5) + v["goaway_04"],
        "announces_03": a3 + SEED + vi(1) + v["announce_active_03"] * 2,
        "announces_04": a4 + SEED2 + vi(1) + v["announce_active_04"] + v["announce_ended_04"],
        "subscribe_responses_04": a4 + SEED + vi(2) + v["subscribe_ok_04"] + v["subscribe_drop_03"],
        "probes_03": a3 + SEED2 + vi(4) + v["probe_03"] * 3,
        "probes_04": a4 + SEED + vi(4) + v["probe_04"] * 3,
        "group_04": g4 + SEED + vi(0) + v["group"] + frames,
        "group_03": b"\x04" + SEED2 + vi(0) + v["group"] + frames,
        "oversized_msg": c4 + SEED + vi(2) + vi(5000) + b"\x00" * 64,
        "bad_kind": c4 + SEED + vi(0x3FFF),
        # moq-lite-05 (byte 0 bit 3)
        "setup_05": b"\x0c" + SEED + vi(1) + v["setup_05"],
        "announces_05": b"\x0a" + SEED2 + vi(1) + v["announce_ok_05"] + v["announce_active_05"]
        + v["announce_ended_05"],
        "announce_please_05": b"\x08" + SEED + vi(1) + v["announce_please_05"],
        "track_05": b"\x08" + SEED2 + vi(6) + v["track_05"],
        "track_info_05": b"\x0a" + SEED + vi(6) + v["track_info_05"],
        "subscribe_05": b"\x08" + SEED + vi(2) + v["subscribe_05"] + v["subscribe_update_04"],
        "subscribe_responses_05": b"\x0a" + SEED2 + vi(2) + v["subscribe_start_05"]
        + v["subscribe_drop_05"] + v["subscribe_end_05"],
        "fetch_05": b"\x08" + SEED + vi(3) + v["fetch_05"],
        "group_05": b"\x0c" + SEED2 + vi(0) + v["group"]
        + (vi(2000) + v["frame"] + vi(19) + vi(300) + b"f" * 300 + vi(0) + vi(0)),
    }


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    sets = {
        "capsule": seeds_capsule(),
        "stream_hdr": seeds_stream_hdr(),
        "settings": seeds_settings(),
        "varint_datagram": seeds_varint_datagram(),
        "steer": seeds_steer(),
        "connect": seeds_connect(),
        "moq": seeds_moq(),
    }
    for target, seeds in sets.items():
        d = os.path.join(root, target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, name + ".bin"), "wb") as f:
                f.write(data)
        print("%s: %d seeds" % (target, len(seeds)))


if __name__ == "__main__":
    main()
