#!/usr/bin/python3
"""The OpenStack side of the benchmark: nova's format_inspector as Debian ships it
(python3-nova, nova/image/format_inspector.py), timed in one long-lived process so that
interpreter start-up is not counted against it.

  openstack.py detect ITERATIONS PATH...
      detect_file_format(PATH) ITERATIONS times per image; prints JSON
      {path: {format, virtual_size, seconds}} (seconds: the median of one call).
  openstack.py passthrough PATH CHUNK_BYTES FORMAT ITERATIONS
      the image in memory as CHUNK_BYTES chunks, iterated bare and through
      InfoWrapper(chunks, <FORMAT inspector>), with and without SHA-512 of every chunk;
      prints JSON with the median seconds of each loop.
"""
import hashlib
import json
import logging
import resource
import statistics
import sys
import time

logging.disable(logging.CRITICAL)
from nova.image import format_inspector  # noqa: E402


def median_seconds(function, iterations):
    function()  # warm up, untimed
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def detect(iterations, paths):
    results = {}
    for path in paths:
        entry = {}
        try:
            inspector = format_inspector.detect_file_format(path)
            entry['format'] = str(inspector)
            entry['virtual_size'] = inspector.virtual_size
            entry['seconds'] = median_seconds(lambda: format_inspector.detect_file_format(path), iterations)
        except Exception as error:  # the benchmark records failures, it does not stop on them
            entry['error'] = '%s: %s' % (type(error).__name__, error)
        results[path] = entry
    results['_max_rss_kib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(results))


def passthrough(path, chunk_bytes, format_name, iterations):
    with open(path, 'rb') as image:
        data = image.read()
    chunks = [data[offset:offset + chunk_bytes] for offset in range(0, len(data), chunk_bytes)]
    inspector_class = format_inspector.get_inspector(format_name)

    def bare():
        for _chunk in iter(chunks):
            pass

    def wrapped():
        for _chunk in format_inspector.InfoWrapper(iter(chunks), inspector_class()):
            pass

    def bare_hash():
        digest = hashlib.sha512()
        for chunk in iter(chunks):
            digest.update(chunk)

    def wrapped_hash():
        digest = hashlib.sha512()
        for chunk in format_inspector.InfoWrapper(iter(chunks), inspector_class()):
            digest.update(chunk)

    result = {
        'chunks': len(chunks),
        'bytes': len(data),
        'bare': median_seconds(bare, iterations),
        'wrapped': median_seconds(wrapped, iterations),
        'bare_hash': median_seconds(bare_hash, iterations),
        'wrapped_hash': median_seconds(wrapped_hash, iterations),
        '_max_rss_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    print(json.dumps(result))


if __name__ == '__main__':
    if sys.argv[1] == 'detect':
        detect(int(sys.argv[2]), sys.argv[3:])
    elif sys.argv[1] == 'passthrough':
        passthrough(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
    else:
        sys.exit('usage: openstack.py detect|passthrough ...')
