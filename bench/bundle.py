"""Status bundle sizes and build times (docs/status-bundle.md, issue 5's size goal).

1. National scale, pure encoding (synthetic): 20,000 products, 1,000,000 lots with 1% recalled,
   100,000 voided serials. Prints the file size with and without the voided serials, per part,
   and the encode and decode times. Goal (issue 5): < 150 KB without voided serials and names,
   < 1.2 MB in all. Then the same with the name tables (issue 12): every product's and
   producer's name and the codes of the newest lots within ``LOT_CODE_BUDGET``; goal: what a
   scanner downloads < 2 MB (the file is already gzip: HTTP gzip cannot shrink it further).
   Then LINK_LOTS (issue 15): the lots with Digital Link stamps at several adoption levels,
   each bundle printed before and after beside each other (the scanner's download keeps its
   2 MB goal by giving LINK_LOTS the first share of the lot code budget).
2. Database-backed build (a temporary SQLite file): a smaller registry inserted in bulk (a third
   of the products with a GTIN, Digital Link requests for a tenth of their lots), then
   ``services.bundle.build`` (gather + encode + sign + store) timed, and the Digital Link lots
   query alone.

Usage: .venv/bin/python bench/bundle.py [--products 20000 --lots 1000000 --voided 100000]
"""

from __future__ import annotations

import argparse
import gzip
import random
import secrets
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from stamp_service.domain import bundle as fmt


def synthetic(
    products: int, lots: int, voided: int, recalled_share: float, rng: random.Random
) -> fmt.BundleContent:
    start = date(2026, 1, 1)
    table = {}
    for i in range(1, products + 1):
        valid = start + timedelta(days=rng.randrange(3 * 365))
        stars = rng.choices((3, 4, 5, 2), weights=(60, 30, 9, 1))[0]
        table[i] = fmt.ProductStatus(valid, stars, withdrawn=rng.random() < 0.01)
    keys = []
    for state in ("retired", "retired", "compromised", "active"):
        pub = secrets.token_bytes(32)
        keys.append(fmt.BundleKey(pub[:4], pub, state, 1_700_000_000, 0, 0))
    return fmt.BundleContent(
        keys=keys,
        products=table,
        product_count=products + 1,
        recalled_lots=rng.sample(range(1, lots + 1), int(lots * recalled_share)),
        lot_count=lots + 1,
        voided_serials=[rng.getrandbits(64) | 1 for _ in range(voided)],
    )


_WORDS = [
    "Mật ong hoa nhãn",
    "Nước mắm cốt cá cơm",
    "Bưởi da xanh",
    "Chè Shan tuyết",
    "Gạo ST25",
    "Cà phê Robusta rang xay",
    "Tỏi cô đơn",
    "Miến dong",
    "Bánh đa nem",
    "Rượu nếp cái hoa vàng",
    "Mắm tôm",
    "Hạt điều rang muối",
    "Trà hoa vàng",
    "Nấm linh chi",
    "Cao dược liệu",
    "Tinh dầu sả chanh",
    "Bánh pía",
    "Kẹo dừa",
    "Khô cá lóc",
    "Hồng treo gió",
]
_PLACES = [
    "Hưng Yên",
    "Phú Quốc",
    "Bến Tre",
    "Hà Giang",
    "Sóc Trăng",
    "Đắk Lắk",
    "Lý Sơn",
    "Bắc Kạn",
    "Thái Bình",
    "Hải Dương",
    "Bình Phước",
    "Quảng Ninh",
    "Kon Tum",
    "Tiền Giang",
    "Cà Mau",
    "Đà Lạt",
    "Yên Bái",
    "Nghệ An",
    "Thanh Hóa",
    "Cao Bằng",
]
_KINDS = ("Hợp tác xã", "Công ty TNHH", "Hộ kinh doanh", "Tổ hợp tác", "Công ty cổ phần")


def synthetic_names(products: int, lots: int, rng: random.Random) -> tuple[dict, dict, dict]:
    """Product and producer names (Vietnamese, ~30 bytes), lot codes in styles producers use,
    and each lot's product.

    Lots are registered over two years in time order, products interleaved at random (so a
    lot's index says nothing about its product): the hardest case for compression.
    """
    producers = [
        f"{rng.choice(_KINDS)} {rng.choice(_WORDS).split()[0]} {rng.choice(_PLACES)} {i}"
        for i in range(products // 3 + 1)
    ]
    names = {
        i: fmt.ProductName(
            f"{rng.choice(_WORDS)} {rng.choice(_PLACES)} {rng.choice(('', 'loại 1 ', 'hộp '))}{i % 97}",
            rng.choice(producers),
        )
        for i in range(1, products + 1)
    }
    style = [
        (rng.randrange(5), "".join(rng.choice("ABCDEGHKLMNPQRSTVX") for _ in range(rng.randrange(2, 4))))
        for _ in range(products + 1)
    ]
    counter = [0] * (products + 1)
    codes = {}
    owner = {}
    first_day = date(2025, 1, 1)
    for i in range(1, lots + 1):
        p = rng.randrange(1, products + 1)
        owner[i] = p
        counter[p] += 1
        n, (kind, prefix) = counter[p], style[p]
        d = first_day + timedelta(days=i * 730 // lots)
        codes[i] = (
            f"L{n:03d}",
            d.strftime("%y%m%d"),
            f"{prefix}-{d:%y}{n:03d}",
            f"LO{d:%m%y}/{n}",
            f"{prefix}{d:%Y%m%d}",
        )[kind]
    return names, codes, owner


def within_budget(codes: dict[int, str], budget: int) -> dict[int, str]:
    """As services.bundle.newest_lot_codes: the newest codes whose bytes (+1 each) fit the budget."""
    out, used = {}, 0
    for i in sorted(codes, reverse=True):
        used += len(codes[i].encode()) + 1
        if used > budget:
            break
        out[i] = codes[i]
    return out


def encode(content: fmt.BundleContent, key: Ed25519PrivateKey) -> bytes:
    return fmt.encode(
        content,
        kid=b"\x01\x02\x03\x04",
        seq=1,
        issued_at=int(time.time()),
        refresh_after=int(time.time()) + 900,
        sign=key.sign,
    )


def part_sizes(content: fmt.BundleContent) -> dict[str, int]:
    """Each part gzipped alone (approximate: the real file compresses them together)."""
    body = fmt.encode_body(content)
    out, pos = {}, 0
    while pos < len(body):
        kind, length = fmt._SECTION.unpack_from(body, pos)
        out[fmt.Section(kind).name] = len(gzip.compress(body[pos : pos + 5 + length], 9, mtime=0))
        pos += 5 + length
    return out


def national(args: argparse.Namespace) -> None:
    rng = random.Random(5)
    key = Ed25519PrivateKey.generate()
    content = synthetic(args.products, args.lots, args.voided, 0.01, rng)
    t0 = time.perf_counter()
    data = encode(content, key)
    t_encode = time.perf_counter() - t0
    t0 = time.perf_counter()
    fmt.decode(data, public_key_lookup=lambda kid: key.public_key())
    t_decode = time.perf_counter() - t0
    content.voided_serials = []
    small = encode(content, key)
    print(
        f"national scale: {args.products:,} products, {args.lots:,} lots (1% recalled), "
        f"{args.voided:,} voided serials"
    )
    print(f"  bundle, all parts:         {len(data):>10,} bytes ({len(data) / 1024:,.1f} KiB; goal < 1.2 MB)")
    print(
        f"  bundle, no voided serials: {len(small):>10,} bytes ({len(small) / 1024:,.1f} KiB; goal < 150 KB)"
    )
    print(
        f"  voided serials cost:          {len(data) - len(small):>10,} bytes  "
        f"({(len(data) - len(small)) / max(args.voided, 1):.2f} bytes each)"
    )
    print(
        "  parts gzipped alone (no voided serials):  "
        + ", ".join(f"{k} {v:,}" for k, v in part_sizes(content).items())
    )
    print(f"  encode+sign: {t_encode * 1000:,.0f} ms   verify+decode: {t_decode * 1000:,.0f} ms")
    ok = len(data) < 1_200_000 and len(small) < 150_000
    print(f"  size goal {'MET' if ok else 'MISSED'}")
    names(args, content, key, rng)


def names(
    args: argparse.Namespace, content: fmt.BundleContent, key: Ed25519PrivateKey, rng: random.Random
) -> None:
    from stamp_service.services.bundle import LOT_CODE_BUDGET

    content.voided_serials = [rng.getrandbits(64) | 1 for _ in range(args.voided)]
    base = len(encode(content, key))
    product_names, lot_codes, owner = synthetic_names(args.products, args.lots, rng)
    content.names = product_names
    t0 = time.perf_counter()
    with_products = len(encode(content, key))
    content.lot_codes = lot_codes
    every_lot = len(encode(content, key))
    content.lot_codes = within_budget(lot_codes, LOT_CODE_BUDGET)
    data = encode(content, key)
    t_encode = time.perf_counter() - t0
    t0 = time.perf_counter()
    decoded = fmt.decode(data, public_key_lookup=lambda kid: key.public_key())
    t_decode = time.perf_counter() - t0
    assert decoded.name_of(1) == product_names[1] and decoded.lot_code(args.lots) == lot_codes[args.lots]
    print("names (issue 12): baseline = the bundle above with voided serials, no names")
    print(f"  baseline:                                {base:>10,} bytes")
    print(
        f"  + product and producer names ({args.products:,}): {with_products:>10,} bytes "
        f"(+{with_products - base:,})"
    )
    print(
        f"  + every lot's code ({args.lots:,}):          {every_lot:>10,} bytes "
        f"(+{every_lot - with_products:,}; {(every_lot - with_products) / args.lots:.2f} bytes a lot)"
    )
    print(
        f"  + newest lots within {LOT_CODE_BUDGET:,} bytes ({len(content.lot_codes):,} lots): "
        f"{len(data):>10,} bytes  <- what a scanner downloads"
    )
    print(f"  encode (3 files): {t_encode * 1000:,.0f} ms   verify+decode: {t_decode * 1000:,.0f} ms")
    print(f"  download goal < 2 MB (2,000,000 bytes): {'MET' if len(data) < 2_000_000 else 'MISSED'}")
    links(args, content, key, rng, lot_codes, owner, len(data))


def synthetic_link_lots(
    lot_codes: dict[int, str], owner: dict[int, int], gtin_share: float, lot_share: float, rng: random.Random
) -> list[fmt.LinkLot]:
    """Lots with Digital Link stamps: ``lot_share`` of the lots of the ``gtin_share`` of products
    that have a GTIN (Vietnamese prefix 893, random company and item numbers)."""
    from stamp_service.domain.gs1 import gtin_check_digit

    gtins: dict[int, str] = {}
    for p in sorted(set(owner.values())):
        if rng.random() < gtin_share:
            body = f"0893{rng.randrange(10**9):09d}"
            gtins[p] = body + str(gtin_check_digit(body))
    seen: set[tuple[int, str]] = set()
    out = []
    for i, code in lot_codes.items():
        p = owner[i]
        if p in gtins and (p, code) not in seen and rng.random() < lot_share:
            seen.add((p, code))  # the registry's (product, lot code) is unique; synthetic codes may repeat
            out.append(fmt.LinkLot(gtins[p], p, code, i))
    return out


def links(
    args: argparse.Namespace,
    content: fmt.BundleContent,
    key: Ed25519PrivateKey,
    rng: random.Random,
    lot_codes: dict[int, str],
    owner: dict[int, int],
    before: int,
) -> None:
    """Issue 15: LINK_LOTS (every lot with Digital Link stamps), beside the same bundles without it.

    What a scanner downloads carries LINK_LOTS first and the newest lot codes within what it
    leaves of the budget (services.bundle.lot_code_budget). The status-only rows add LINK_LOTS
    to the bundle of issue 5 (no names) to show its cost against those goals.
    """
    from stamp_service.services.bundle import LOT_CODE_BUDGET, lot_code_budget

    small = replace(content, voided_serials=[], names={}, lot_codes={})
    status = replace(content, names={}, lot_codes={})
    sizes = {"small": len(encode(small, key)), "status": len(encode(status, key))}
    print("Digital Link lots (issue 15): before = without LINK_LOTS, after = with it (same run)")
    print(f"  {'bundle':<52} {'before':>10} {'after':>10} {'+bytes':>10} {'a lot':>6}  goal")
    link_lots: list[fmt.LinkLot] = []
    for gtin_share, lot_share in ((0.3, 0.03), (0.3, 0.1), (0.3, 0.3), (0.3, 0.6), (0.3, 0.8), (0.3, 1.0)):
        link_lots = synthetic_link_lots(lot_codes, owner, gtin_share, lot_share, random.Random(15))
        budget = lot_code_budget(link_lots)
        newest = within_budget(lot_codes, budget)
        rows = [
            ("status only, no voided serials", sizes["small"], replace(small, link_lots=link_lots), 150_000),
            (
                "status only, 100,000 voided serials",
                sizes["status"],
                replace(status, link_lots=link_lots),
                1_200_000,
            ),
            (
                f"what a scanner downloads ({len(newest):,} lot codes)",
                before,
                replace(content, lot_codes=newest, link_lots=link_lots),
                2_000_000,
            ),
        ]
        print(
            f"  {gtin_share:.0%} of products with a GTIN, {lot_share:.0%} of their lots with Digital Link "
            f"stamps: {len(link_lots):,} lots (lot code budget left: {budget:,} of {LOT_CODE_BUDGET:,})"
        )
        for label, size_before, with_links, goal in rows:
            after = len(encode(with_links, key))
            extra = after - size_before
            print(
                f"    {label:<50} {size_before:>10,} {after:>10,} {extra:>+10,} "
                f"{extra / max(len(link_lots), 1):>6.2f}  < {goal:,}: {'MET' if after < goal else 'MISSED'}"
            )
    t0 = time.perf_counter()
    data = encode(replace(content, link_lots=link_lots), key)
    decoded = fmt.decode(data, public_key_lookup=lambda kid: key.public_key())
    elapsed = time.perf_counter() - t0
    sample = link_lots[len(link_lots) // 2]
    assert decoded.link_indexes(sample.gtin, sample.lot_code) == (sample.product_index, sample.lot_index)
    print(f"  encode+decode with {len(link_lots):,} link lots: {elapsed * 1000:,.0f} ms")


def _gtin(i: int) -> str:
    from stamp_service.domain.gs1 import gtin_check_digit

    body = f"893{i:09d}"
    return body + str(gtin_check_digit(body))


def database_build(products: int, lots: int, stamps: int) -> None:
    from sqlalchemy import insert

    from stamp_service.crypto.keyring import KeyRing
    from stamp_service.domain.access import SYSTEM
    from stamp_service.services import bundle as svc
    from stamp_service.services import keys, reference
    from stamp_service.storage.db import make_engine, make_session_factory
    from stamp_service.storage.migrate import upgrade
    from stamp_service.storage.models.registry import Certificate, Lot, Producer, Product
    from stamp_service.storage.models.stamps import Stamp, StampRequest, StampVoid

    rng = random.Random(7)
    lot_product = [0] + [rng.randrange(1, products + 1) for _ in range(lots)]
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.sqlite3")
        upgrade(engine)
        factory = make_session_factory(engine)
        now = datetime.now(UTC)
        with factory() as s:
            reference.load_builtin(s, SYSTEM)
            ring = KeyRing(Path(tmp))
            ring.ensure_service_secret()
            keys.create(s, SYSTEM, keyring=ring)
            s.execute(
                insert(Producer),
                [
                    {
                        "id": 1,
                        "name": "bench",
                        "legal_type": "enterprise",
                        "commune_code": "18418",
                        "province_code": "42",
                        "address_snapshot": {},
                        "created_at": now,
                    }
                ],
            )
            s.execute(
                insert(Product),
                [
                    {
                        "id": i,
                        "producer_id": 1,
                        "name": f"p{i}",
                        "gtin": _gtin(i) if i % 3 == 0 else None,  # a third of the products
                        "group_code": "1.1",
                        "standards": [],
                        "raw_material_communes": [],
                        "created_at": now,
                    }
                    for i in range(1, products + 1)
                ],
            )
            s.execute(
                insert(Certificate),
                [
                    {
                        "product_id": i,
                        "stars": rng.choice((3, 4, 5)),
                        "criteria_version": "148/QĐ-TTg",
                        "authority_name": "UBND",
                        "authority_level": "province",
                        "decision_number": f"{i}/QĐ",
                        "signed_on": date(2025, 8, 1),
                        "valid_until": date(2028, 8, 1),
                        "state": "withdrawn" if i % 100 == 0 else "active",
                        "created_at": now,
                    }
                    for i in range(1, products + 1)
                ],
            )
            s.execute(
                insert(Lot),
                [
                    {
                        "id": i,
                        "product_id": lot_product[i],
                        "lot_code": f"L{i}",
                        "production_date": date(2026, 1, 1),
                        "quantity": 100,
                        "unit": "unit",
                        "input_lots": [],
                        "recall": {"number": "1/QĐ"} if i % 100 == 0 else None,
                        "created_at": now,
                    }
                    for i in range(1, lots + 1)
                ],
            )
            # Digital Link requests for every tenth lot of the products with a GTIN (issue 15).
            link_requests = [i for i in range(1, lots + 1) if i % 10 == 0 and lot_product[i] % 3 == 0]
            s.execute(
                insert(StampRequest),
                [
                    {
                        "id": 1 + n,
                        "producer_id": 1,
                        "product_id": lot_product[i],
                        "lot_id": i,
                        "certificate_id": lot_product[i],
                        "stars_at_request": 4,
                        "quantity_requested": 10,
                        "quantity_approved": 10,
                        "form": "digital_link",
                        "state": "approved",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n, i in enumerate(link_requests, start=1)
                ],
            )
            s.execute(
                insert(StampRequest),
                [
                    {
                        "id": 1,
                        "producer_id": 1,
                        "product_id": 1,
                        "lot_id": 1,
                        "certificate_id": 1,
                        "stars_at_request": 4,
                        "quantity_requested": stamps,
                        "quantity_approved": stamps,
                        "state": "issued",
                        "issued_count": stamps,
                        "created_at": now,
                        "updated_at": now,
                    }
                ],
            )
            s.execute(
                insert(Stamp),
                [
                    {
                        "serial": rng.getrandbits(63),
                        "request_id": 1,
                        "seq": i,
                        "product_id": 1,
                        "lot_id": 1,
                        "kid": "00000000",
                        "expiry_day": date(2028, 8, 1),
                        "signature": bytes(64),
                        "issued_at": now,
                    }
                    for i in range(1, stamps + 1)
                ],
            )
            s.execute(
                insert(StampVoid),
                [
                    {
                        "request_id": 1,
                        "seq_from": 1,
                        "seq_to": stamps // 2,
                        "reason_code": "lost",
                        "reason": "bench",
                        "voided_at": now,
                    }
                ],
            )
            s.commit()
            t0 = time.perf_counter()
            row = svc.build(s, ring, generation=1, force=True)
            elapsed = time.perf_counter() - t0
            t0 = time.perf_counter()
            link_lots = svc.link_lots(s)
            t_links = time.perf_counter() - t0
        print(
            f"database build (SQLite): {products:,} products, {lots:,} lots (1% recalled), "
            f"{stamps // 2:,} voided of {stamps:,} stamps"
        )
        print(
            f"  gather+encode+sign+store: {elapsed * 1000:,.0f} ms, {row.size:,} bytes, counts {row.counts}"
        )
        print(f"  of which the Digital Link lots query ({len(link_lots):,} lots): {t_links * 1000:,.0f} ms")
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--lots", type=int, default=1_000_000)
    parser.add_argument("--voided", type=int, default=100_000)
    parser.add_argument("--db-products", type=int, default=2_000)
    parser.add_argument("--db-lots", type=int, default=50_000)
    parser.add_argument("--db-stamps", type=int, default=20_000)
    args = parser.parse_args()
    national(args)
    database_build(args.db_products, args.db_lots, args.db_stamps)


if __name__ == "__main__":
    main()
