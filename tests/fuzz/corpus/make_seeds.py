#!/usr/bin/env python3
"""Regenerates the seed corpora in this folder (run from anywhere; rewrites the files).

fuzz_messages/<name>:      direction byte (0 client, 1 server), type byte, body.
fuzz_frame_decoder/<name>: flags byte (bit 0 server, bit 1 tiny limits, bit 2 client stream
                           without startup packet), chunk-size seed byte, then a byte stream.
Seeds are the messages of the PostgreSQL docs' "Message Formats", one of each, plus whole
exchanges as a server sends them; see tests/fuzz/fuzz_*.cpp for what the targets check.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def cs(s):
    return s.encode() + b"\0"


def i16(*v):
    return b"".join(struct.pack(">h", x) for x in v)


def i32(*v):
    return b"".join(struct.pack(">i", x) for x in v)


def msg(t, body):
    return t + struct.pack(">I", len(body) + 4) + body


def startup(body):
    return struct.pack(">I", len(body) + 4) + body


FRONTEND = {
    "startup": b"\0" + i32(196608) + cs("user") + cs("app") + cs("database") + cs("shop") + b"\0",
    "ssl_request": b"\0" + i32(80877103),
    "gssenc_request": b"\0" + i32(80877104),
    "cancel_request": b"\0" + i32(80877102, 4242, 99),
    "query": b"Q" + cs("SELECT 1"),
    "parse": b"P" + cs("s1") + cs("SELECT $1::int") + i16(1) + i32(23),
    "bind": b"B" + cs("") + cs("s1") + i16(1, 0) + i16(2) + i32(1) + b"7" + i32(-1) + i16(1, 1),
    "describe": b"D" + b"S" + cs("s1"),
    "execute": b"E" + cs("") + i32(0),
    "close": b"C" + b"P" + cs("p"),
    "sync": b"S",
    "flush": b"H",
    "terminate": b"X",
    "copy_data": b"d" + b"1\tone\n",
    "copy_done": b"c",
    "copy_fail": b"f" + cs("aborted"),
    "function_call": b"F" + i32(1598) + i16(1, 1) + i16(1) + i32(4) + i32(42) + i16(1),
    "password": b"p" + cs("s3cret"),
    "sasl_initial": b"p" + cs("SCRAM-SHA-256") + i32(8) + b"n,,n=,r=",
    "sasl_response": b"p" + b"c=biws,r=abc,p=xyz",
}

ERROR = (b"S" + cs("ERROR") + b"V" + cs("ERROR") + b"C" + cs("42601")
         + b"M" + cs('syntax error at or near "SELEC"') + b"P" + cs("1") + b"\0")
ROW_DESC = i16(1) + cs("?column?") + struct.pack(">IhIhih", 0, 0, 23, 4, -1, 0)

BACKEND = {
    "auth_ok": b"R" + i32(0),
    "auth_md5": b"R" + i32(5) + b"salt",
    "auth_sasl": b"R" + i32(10) + cs("SCRAM-SHA-256") + b"\0",
    "auth_sasl_continue": b"R" + i32(11) + b"r=abc,s=c2FsdA==,i=4096",
    "auth_sasl_final": b"R" + i32(12) + b"v=xyz",
    "backend_key_data": b"K" + i32(4242, 99),
    "parameter_status": b"S" + cs("server_version") + cs("15.5"),
    "ready_for_query": b"ZI",
    "command_complete": b"C" + cs("SELECT 1"),
    "error_response": b"E" + ERROR,
    "notice_response": b"N" + b"S" + cs("NOTICE") + b"C" + cs("00000") + b"M" + cs("hi") + b"\0",
    "notification": b"A" + i32(4711) + cs("orders") + cs("{}"),
    "negotiate": b"v" + i32(0, 1) + cs("_pq_.x"),
    "row_description": b"T" + ROW_DESC,
    "data_row": b"D" + i16(3) + i32(1) + b"1" + i32(-1) + i32(0),
    "parameter_description": b"t" + i16(2) + i32(23, 25),
    "copy_in_response": b"G" + b"\0" + i16(2, 0, 0),
    "copy_out_response": b"H" + b"\1" + i16(1, 1),
    "copy_both_response": b"W" + b"\0" + i16(0),
    "function_call_response": b"V" + i32(4) + i32(42),
    "parse_complete": b"1",
    "bind_complete": b"2",
    "close_complete": b"3",
    "no_data": b"n",
    "empty_query": b"I",
    "portal_suspended": b"s",
    "copy_data": b"d" + b"1\tone\n",
    "copy_done": b"c",
}


def frame(raw):
    return startup(raw[1:]) if raw[:1] == b"\0" else msg(raw[:1], raw[1:])


STREAMS = {
    # flags, seed, bytes
    "client_ssl_startup_query": (0, 7, startup(i32(80877103)) + frame(FRONTEND["startup"])
                                 + frame(FRONTEND["query"]) + frame(FRONTEND["terminate"])),
    "client_extended": (4, 3, b"".join(frame(FRONTEND[k]) for k in
                                       ("parse", "bind", "describe", "execute", "sync"))),
    "server_select_1": (1, 5, msg(b"T", ROW_DESC) + msg(b"D", i16(1) + i32(1) + b"1")
                        + msg(b"C", cs("SELECT 1")) + msg(b"Z", b"I")),
    "server_startup": (1, 11, b"".join(frame(BACKEND[k]) for k in
                                       ("auth_ok", "parameter_status", "backend_key_data",
                                        "ready_for_query"))),
    "server_error": (1, 2, msg(b"E", ERROR) + msg(b"Z", b"I")),
    "tiny_limits_oversized": (3, 1, msg(b"D", i16(1) + i32(200) + b"x" * 200)),
}


def write(folder, name, data):
    path = os.path.join(HERE, folder)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, name), "wb") as f:
        f.write(data)


def main():
    for name, raw in FRONTEND.items():
        write("fuzz_messages", "client_" + name, b"\0" + raw)
    for name, raw in BACKEND.items():
        write("fuzz_messages", "server_" + name, b"\1" + raw)
    for name, (flags, seed, data) in STREAMS.items():
        write("fuzz_frame_decoder", name, bytes([flags, seed]) + data)


if __name__ == "__main__":
    main()
