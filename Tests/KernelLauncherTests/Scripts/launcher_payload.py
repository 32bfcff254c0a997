"""Test vectors for the kernel-launcher response protocol, made with Python's `cryptography` (independent of the
launchers' own pycryptodomex and of the Swift code under test).

    launcher_payload.py payload PUBLIC_KEY_B64 CONN_INFO_JSON [--version N] [--no-version]
        prints what a version-1 launcher sends: base64(JSON{version, key: b64(RSA-PKCS1v15(aes key)),
        conn_info: b64(AES-128-ECB(PKCS#7(conn info)))})
    launcher_payload.py legacy KERNEL_ID CONN_INFO_JSON
        prints a pre-1 payload: base64(AES-ECB(key = first 16 characters of the kernel id, conn info))
    launcher_payload.py rsa-pem BITS pkcs1|pkcs8
        prints a new RSA private key (PEM, "RSA PRIVATE KEY" or "PRIVATE KEY"), as an operator might make one
    launcher_payload.py key-size PUBLIC_KEY_B64
        prints the modulus size of a public key given as the launchers take it
"""
import base64
import json
import os
import sys

from cryptography.hazmat.primitives import padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def aes_ecb(key: bytes, data: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(data) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def main(argv: list) -> None:
    command = argv[0]
    if command == "payload":
        public_key = serialization.load_der_public_key(base64.b64decode(argv[1]))
        aes_key = os.urandom(16)
        envelope = {
            "key": base64.b64encode(public_key.encrypt(aes_key, asym_padding.PKCS1v15())).decode(),
            "conn_info": base64.b64encode(aes_ecb(aes_key, argv[2].encode())).decode(),
        }
        if "--no-version" not in argv:
            envelope["version"] = int(argv[argv.index("--version") + 1]) if "--version" in argv else 1
        sys.stdout.write(base64.b64encode(json.dumps(envelope).encode()).decode())
    elif command == "legacy":
        sys.stdout.write(base64.b64encode(aes_ecb(argv[1][:16].encode(), argv[2].encode())).decode())
    elif command == "rsa-pem":
        key = rsa.generate_private_key(public_exponent=65537, key_size=int(argv[1]))
        key_format = {"pkcs1": serialization.PrivateFormat.TraditionalOpenSSL, "pkcs8": serialization.PrivateFormat.PKCS8}[argv[2]]
        pem = key.private_bytes(serialization.Encoding.PEM, key_format, serialization.NoEncryption())
        sys.stdout.write(pem.decode())
    elif command == "key-size":
        sys.stdout.write(str(serialization.load_der_public_key(base64.b64decode(argv[1])).key_size))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv[1:])
