#!/usr/bin/env python3
# An independent second opinion on `ktls probe`: the same kernel questions
# asked with Python's socket module and hand-built crypto_info structs, not
# with libktls's code.  Prints one JSON object:
#   {"ulp": bool, "tls13_rekey": bool, "tx_max_payload_len": bool,
#    "tx_zerocopy_sendfile": bool, "rx_expect_no_pad": bool}
import json
import socket
import struct

SOL_TLS = 282
TCP_ULP = 31
TLS_TX, TLS_RX, TLS_TX_ZEROCOPY_RO, TLS_RX_EXPECT_NO_PAD, TLS_TX_MAX_PAYLOAD_LEN = 1, 2, 3, 4, 5
TLS_1_3_VERSION = 0x0304
TLS_CIPHER_AES_GCM_128 = 51


def aes_gcm_128_info():
    # struct tls12_crypto_info_aes_gcm_128: version u16, cipher_type u16,
    # iv[8], key[16], salt[4], rec_seq[8] (include/uapi/linux/tls.h)
    return struct.pack("<HH8s16s4s8s", TLS_1_3_VERSION, TLS_CIPHER_AES_GCM_128,
                       bytes(8), bytes(16), bytes(4), bytes(8))


def pair():
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(1)
    a = socket.create_connection(lst.getsockname())
    b, _ = lst.accept()
    lst.close()
    return a, b


def tries(fn):
    try:
        fn()
        return True
    except OSError:
        return False


result = {}
a, b = pair()
result["ulp"] = tries(lambda: a.setsockopt(socket.SOL_TCP, TCP_ULP, b"tls"))
if result["ulp"]:
    # The payload limit is set before the key, as libktls does.
    result["tx_max_payload_len"] = tries(
        lambda: a.setsockopt(SOL_TLS, TLS_TX_MAX_PAYLOAD_LEN, struct.pack("<H", 1024)))
    a.setsockopt(SOL_TLS, TLS_TX, aes_gcm_128_info())
    result["tx_zerocopy_sendfile"] = tries(
        lambda: a.setsockopt(SOL_TLS, TLS_TX_ZEROCOPY_RO, struct.pack("<i", 1)))
    result["tls13_rekey"] = tries(lambda: a.setsockopt(SOL_TLS, TLS_TX, aes_gcm_128_info()))
    a.setsockopt(SOL_TLS, TLS_RX, aes_gcm_128_info())
    result["rx_expect_no_pad"] = tries(
        lambda: a.setsockopt(SOL_TLS, TLS_RX_EXPECT_NO_PAD, struct.pack("<i", 1)))
a.close()
b.close()
print(json.dumps(result, sort_keys=True))
