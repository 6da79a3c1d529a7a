"""The shared fixtures work: both engines keep instants, each service answers a real client."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import StatementError

from esupervision.models.clocks import timesource
from esupervision.models.base import UTCDateTime

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Its own MetaData: never part of the product schema that `engine` creates and empties.
probe_metadata = MetaData()
probe = Table(
    "infra_probe",
    probe_metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
)


@pytest.fixture
def probe_engine(engine: Engine, empty_tables) -> Iterator[Engine]:
    probe_metadata.create_all(engine)
    yield engine
    empty_tables(engine, probe_metadata.sorted_tables)


def test_aware_datetime_round_trips_as_the_same_instant_in_utc(probe_engine: Engine) -> None:
    written = datetime(2026, 11, 26, 9, 0, 0, 123456, tzinfo=SHANGHAI)
    with probe_engine.begin() as connection:
        connection.execute(insert(probe).values(id=1, at=written))
    with probe_engine.connect() as connection:
        read = connection.execute(select(probe.c.at).where(probe.c.id == 1)).scalar_one()
    assert read == written
    assert read.utcoffset() == timedelta(0)
    assert read == datetime(2026, 11, 26, 1, 0, 0, 123456, tzinfo=timezone.utc)


def test_instants_compare_in_sql_across_offsets(probe_engine: Engine) -> None:
    early = datetime(2026, 11, 26, 8, 0, tzinfo=SHANGHAI)  # 00:00 UTC
    late = datetime(2026, 11, 26, 1, 30, tzinfo=timezone.utc)
    with probe_engine.begin() as connection:
        connection.execute(insert(probe), [{"id": 1, "at": late}, {"id": 2, "at": early}])
        cutoff = datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI)  # 01:00 UTC
        before = connection.execute(select(probe.c.id).where(probe.c.at < cutoff)).scalars().all()
    assert before == [2]


def test_naive_datetime_is_refused(probe_engine: Engine) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        with probe_engine.begin() as connection:
            connection.execute(insert(probe).values(id=1, at=datetime(2026, 11, 26, 9, 0)))


def test_empty_tables_leaves_no_rows(probe_engine: Engine, empty_tables) -> None:
    with probe_engine.begin() as connection:
        connection.execute(insert(probe), [{"id": n, "at": datetime.now(timezone.utc)} for n in range(3)])
    empty_tables(probe_engine, probe_metadata.sorted_tables)
    with probe_engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(probe)).scalar_one() == 0


def test_each_engine_is_what_its_id_says(request: pytest.FixtureRequest, engine: Engine) -> None:
    assert engine.dialect.name == request.node.callspec.params["db_url"]


@pytest.mark.postgres_only
def test_postgres_only_runs_on_postgresql_alone(engine: Engine) -> None:
    assert engine.dialect.name == "postgresql"


def test_redis_answers_ping(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        assert client.ping() is True
    finally:
        client.close()


def test_rabbitmq_accepts_a_connection_and_a_queue(rabbitmq_url: str) -> None:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_url))
    try:
        channel = connection.channel()
        queue = channel.queue_declare(queue="", exclusive=True).method.queue
        channel.basic_publish(exchange="", routing_key=queue, body=b"ping")
        _, _, body = channel.basic_get(queue, auto_ack=True)
        assert body == b"ping"
    finally:
        connection.close()


def test_fixed_time_is_installed_and_moves_only_when_told(fixed_time: timesource.FixedTime) -> None:
    assert timesource.now() == datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI)
    fixed_time.advance(hours=2)
    assert timesource.now() == datetime(2026, 11, 26, 11, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize("fixed_time", [datetime(2027, 1, 4, 17, 30, tzinfo=SHANGHAI)], indirect=True)
def test_fixed_time_takes_another_start(fixed_time: timesource.FixedTime) -> None:
    assert timesource.now() == datetime(2027, 1, 4, 17, 30, tzinfo=SHANGHAI)
