"""Sample data the project writes itself, for the demo, the tests and the documentation; one place.

- :mod:`mmedc.samples.web`: a general-web sample in six languages (CulturaX-shaped Parquet), labelled;
- :mod:`mmedc.samples.textbooks`: sample books (text layer and image-only PDFs) in six languages;
- :mod:`mmedc.samples.dedup`: a small corpus with known duplicates in six languages;
- ``site/``: a fixture medical website (served on loopback by :mod:`mmedc.web.localserver`);
- ``corpus.yaml``, ``corpus/``, ``benchmarks/``: the bundled corpus build and its inputs;
- ``web/``: the sentences the web sample is made of.

The generators import nothing of mmedc but the language table (layer 0), so every layer may use them.
"""
