"""身份证号 checks with real check digits, the keyed hash, masks (the key itself: test_records_idkey.py)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import check_digit, id_number

from tracker.records.privacy import IdNumberError, hash_id, mask_id, mask_name, validate_id_number


def test_known_example_and_random_valid_numbers() -> None:
    # the worked example of GB 11643-1999
    assert validate_id_number("11010519491231002X") == "11010519491231002X"
    rng = random.Random(7)
    for _ in range(500):
        body = f"33{rng.randint(1000, 9999)}{rng.randint(1930, 2015)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
        full = body + check_digit(body)
        assert validate_id_number(full) == full
        # every other last character is wrong
        for c in "0123456789X":
            if c != full[-1]:
                with pytest.raises(IdNumberError, match="校验位错误"):
                    validate_id_number(body + c)


def test_normalises_full_width_and_lower_x() -> None:
    n = "11010519491231002X"
    assert validate_id_number("１１０１０５１９４９１２３１００２ｘ") == n
    assert validate_id_number(" 11010519491231002x ") == n


@pytest.mark.parametrize(("value", "fragment"), [
    ("3.30106e+17", "科学计数法"),
    ("330106195001010000.0", "科学计数法"),
    ("110105491231002", "15位旧身份证号"),
    ("1101051949123100", "应为18位"),
    ("11010519491331002X", "出生日期无效"),
    ("0101051949123100" + "2X", "地区码无效"),
    ("11010519491231A02X", "前17位应为数字"),
])
def test_rejections_never_repeat_the_number(value: str, fragment: str) -> None:
    with pytest.raises(IdNumberError) as e:
        validate_id_number(value)
    assert fragment in e.value.message and value not in e.value.message


def test_hash_is_keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    n = id_number()
    monkeypatch.setenv("TRACKER_ID_KEY", "key-one")
    a = hash_id(n)
    assert a == hash_id(n.lower()) and len(a) == 64 and n not in a
    monkeypatch.setenv("TRACKER_ID_KEY", "key-two")
    assert hash_id(n) != a


def test_masks() -> None:
    assert mask_id("33010619500101002X") == "330106********002X"
    assert mask_id("330106195001010021") == "330106********0021"
    assert mask_name("张三") == "张*"
    assert mask_name("张三丰") == "张**"
    assert mask_name("欧阳娜娜") == "欧阳**"
    assert mask_name("欧阳修") == "欧阳*"
    assert mask_name("王") == "*"
    assert mask_name("") == "" and mask_name(None) == ""
