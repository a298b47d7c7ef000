"""Catalogue search: a resident's search by words of a title, author or subject (Chinese by
characters and pairs), with N titles in the catalogue, as a multiple of a find by _id on the
same store; at two sizes, to show how the cost grows with the catalogue.

    python -m bench.bench_catalogue_search [--titles 20000 200000]
"""
from __future__ import annotations

import argparse
import random
import statistics

from tqdm import tqdm

from bench.common import store, summary, timed
from services.common.storage import ensure_indexes
from services.library import catalogue
from services.library import store as library_store

# words titles are made of: a few very common, most rare (as in a real catalogue)
COMMON = ["中国", "历史", "文学", "研究", "儿童", "故事"]
WORDS = ["银河", "帝国", "基地", "三体", "黑暗", "森林", "死神", "永生", "红楼", "西游", "水浒", "长安", "上海",
         "江南", "城市", "乡村", "科学", "数学", "物理", "化学", "生物", "地理", "音乐", "美术", "书法", "围棋",
         "烹饪", "园艺", "旅行", "摄影", "电影", "戏剧", "诗词", "散文", "小说", "传记", "哲学", "经济", "法律",
         "医学", "健康", "心理", "教育", "家庭", "老人", "社区", "图书", "博物", "海洋", "天文"]
AUTHORS = [f"{s}{g}" for s in "王李张刘陈杨赵黄周吴" for g in "明华强军平静丽敏伟芳"]


def make_record(i: int, rng: random.Random) -> dict:
    words = rng.sample(WORDS, 2) + ([rng.choice(COMMON)] if rng.random() < 0.5 else [])
    return {"record_id": f"bench-{i:07d}", "title": "".join(words) + f"（第{i % 9 + 1}卷）",
            "authors": [rng.choice(AUTHORS)], "subjects": [rng.choice(COMMON)], "copies": []}


def populate(db, start: int, end: int, seed: int = 11) -> None:
    rng = random.Random(seed + start)
    with tqdm(total=end - start, unit="title", desc="titles") as bar:
        for first in range(start, end, 500):
            records = [make_record(i, rng) for i in range(first, min(end, first + 500))]
            assert catalogue.store_records(db, records)["stored"] == len(records)
            bar.update(len(records))


def run(sizes: list[int], repeat: int) -> None:
    with store() as (client, where):
        db = client["bench_catalogue"]
        client.drop_database("bench_catalogue")
        ensure_indexes(db, library_store.INDEXES)
        rng = random.Random(3)
        queries = {"a rare pair of words": lambda: "".join(rng.sample(WORDS, 2)),
                   "an author": lambda: rng.choice(AUTHORS),
                   "a common word and a rare one": lambda: rng.choice(COMMON) + " " + rng.choice(WORDS),
                   "no title has it": lambda: "量子纠缠"}
        done = 0
        for size in sizes:
            populate(db, done, size)
            done = size
            ids = iter([f"bench-{rng.randrange(size):07d}" for _ in range(repeat)])
            base = timed(lambda: db[library_store.TITLES].find_one({"_id": next(ids)}), repeat)
            baseline = statistics.median(base)
            print(f"\ncatalogue search, {size:,} titles, on {where}")
            print(summary("baseline: find_one by _id", base, None))
            for name, make in queries.items():
                texts = iter([make() for _ in range(repeat)])
                hits = []
                samples = timed(lambda: hits.append(len(catalogue.search(db, text=next(texts), isbn=None, limit=20))),
                                repeat)
                print(summary(f"search: {name} ({statistics.mean(hits):.0f} hits)", samples, baseline))
        client.drop_database("bench_catalogue")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    run(sorted(args.titles), args.repeat)
