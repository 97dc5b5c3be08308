# Set-up and the two commands of the README: `make demo` and `make test`.
# Everything installs into .venv. torch is installed only when it is not importable
# (pinned: an unpinned torch can pull a multi-GB CUDA build); an existing mmcv is kept.
PYTHON ?= python3
VENV ?= .venv
VPY := $(VENV)/bin/python
TORCH_VERSION ?= 2.13.0
DEMO_DIR ?= work_dirs/demo
DEMO_DATA ?= data/synthetic_anet_bmn
DEMO_CONFIG ?= configs/localization/bmn/bmn_synthetic_demo.py
PYTEST_ARGS ?=
# The test run uses the 2 cores of a CI machine: 2 pytest-xdist workers, 1 thread each.
TEST_WORKERS ?= 2
TEST_ENV = OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

.PHONY: install demo test test-slow bench-peer bsn-demo ssn-demo afsd-demo actionformer-demo clean-demo

$(VENV)/.installed: setup.py requirements/runtime.txt requirements/tests.txt requirements/optional.txt requirements/mminstall.txt
	test -x $(VPY) || $(PYTHON) -m venv --system-site-packages $(VENV)
	$(VPY) -c "import torch" 2>/dev/null || $(VPY) -m pip install -q "torch==$(TORCH_VERSION)"
	$(VPY) -c "import mmcv" 2>/dev/null || $(VPY) -m pip install -q -r requirements/mminstall.txt
	$(VPY) -m pip install -q -r requirements/runtime.txt -r requirements/tests.txt -r requirements/optional.txt
	$(VPY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

install: $(VENV)/.installed

# Generates the synthetic ActivityNet-like set, trains BMN, tests it with --eval AR@AN --out,
# prints the AR@AN table and writes the AR-AN curve.
demo: install
	$(VPY) tools/misc/run_demo.py --config $(DEMO_CONFIG) --data-dir $(DEMO_DATA) --work-dir $(DEMO_DIR)

# The other models' synthetic chains (each a few minutes on 2 CPU cores).
bsn-demo: install
	PYTHON=$(VPY) bash tools/misc/bsn_chain_demo.sh

ssn-demo: install
	$(VPY) tools/data/synthetic/generate_thumos.py data/synthetic_thumos
	$(VPY) tools/train.py configs/localization/ssn/ssn_synthetic_demo_train.py
	$(VPY) tools/test.py configs/localization/ssn/ssn_synthetic_demo_test.py \
		work_dirs/ssn_synthetic_demo/epoch_150.pth --eval mAP --out work_dirs/ssn_synthetic_demo/results.json

afsd-demo: install
	$(VPY) tools/data/synthetic/generate_afsd_clips.py data/synthetic_afsd
	$(VPY) tools/train.py configs/localization/afsd/afsd_synthetic_demo.py --no-validate
	$(VPY) tools/test.py configs/localization/afsd/afsd_synthetic_demo.py \
		work_dirs/afsd_synthetic_demo/epoch_12.pth --eval mAP --out work_dirs/afsd_synthetic_demo/results.json
	$(VPY) tools/train.py configs/localization/afsd/afsd_synthetic_demo_flow.py --no-validate
	$(VPY) tools/misc/merge_afsd_fusion_checkpoint.py work_dirs/afsd_synthetic_demo/epoch_12.pth \
		work_dirs/afsd_synthetic_demo_flow/epoch_12.pth --out work_dirs/afsd_synthetic_fusion.pth \
		--config configs/localization/afsd/afsd_synthetic_fusion.py
	$(VPY) tools/test.py configs/localization/afsd/afsd_synthetic_fusion.py \
		work_dirs/afsd_synthetic_fusion.pth --eval mAP --out work_dirs/afsd_synthetic_fusion.json

# ActionFormer and TriDet on the synthetic THUMOS-like set: train each on CPU, test, mAP.
AF_DEMO_DATA ?= data/synthetic_actionformer
actionformer-demo: install
	$(VPY) tools/data/synthetic/generate_features.py $(AF_DEMO_DATA) --num-train 80 --num-val 30 \
		--feat-dim 32 --num-classes 4 --steps 60 320 --max-actions 4 --coverage 0.02 0.35 \
		--noise 0.6 --seed 0
	for m in actionformer tridet; do \
		$(VPY) tools/train.py configs/localization/$$m/$${m}_synthetic_demo.py || exit 1; \
		$(VPY) tools/test.py configs/localization/$$m/$${m}_synthetic_demo.py \
			work_dirs/$${m}_synthetic_demo/epoch_30.pth --eval mAP \
			--out work_dirs/$${m}_synthetic_demo/results.json || exit 1; \
	done

test: install
	$(TEST_ENV) $(VPY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test-slow: install
	$(TEST_ENV) $(VPY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m slow $(PYTEST_ARGS)

# Side by side with MMAction2 1.2.0 (docs/benchmarks.md): builds its venv once under
# ~/.cache/mmloc-peer-bench (needs the package index), alternates the two tools run by run
# and prints the table of medians and ratios. Not part of `make test`.
BENCH_PEER_ARGS ?= --pairs 3
bench-peer: install
	$(VPY) benchmarks/peer/run.py $(BENCH_PEER_ARGS)

clean-demo:
	rm -rf $(DEMO_DIR) $(DEMO_DATA)
