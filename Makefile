# OHEM for Darknet. `make` builds libohem.a, ./darknet and tests/example; `make test` runs every test.
CC ?= cc
DARKNET_DIR ?= /usr/lib/darknet
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -ffp-contract=off -I$(DARKNET_DIR)/include
# The folders are layers, each including only from those below it:
#   src/libdarknet < src/core < src/cpu < src/layers < src/darknet < src/cli
# (src/cpu does not use src/core). Each folder's objects see only its own -I list.
INC_CORE = -Isrc/libdarknet -Isrc/core
INC_CPU = -Isrc/cpu
INC_LAYERS = $(INC_CORE) -Isrc/cpu -Isrc/layers
INC_DARKNET = $(INC_LAYERS) -Isrc/darknet
INC_ALL = $(INC_DARKNET) -Isrc/cli
LDLIBS = -L$(DARKNET_DIR) -ldarknet -Wl,-rpath,$(DARKNET_DIR) -lopenblas -lm -pthread
# the training chart (src/cli/chart.c) draws with cairo; the importers' parsers are
# libxml2 (VOC) and jansson (COCO). For the CLI objects only; expanded when used, so
# that a first `make` sees what deps installed.
CAIRO_CFLAGS = $(shell pkg-config --cflags cairo 2>/dev/null)
CAIRO_LIBS = $(shell pkg-config --libs cairo 2>/dev/null)
IMPORT_CFLAGS = $(shell pkg-config --cflags libxml-2.0 jansson)
IMPORT_LIBS = $(shell pkg-config --libs libxml-2.0 jansson)
CLI_LIBS = -lz $(CAIRO_LIBS) $(IMPORT_LIBS)
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
FLAGS_STAMP = .flags-sanitize
else
FLAGS_STAMP = .flags-plain
endif
# MPI (data-parallel `detector train`, src/cli/dist.c) is compiled in where mpicc
# exists (install-deps installs Open MPI); `make MPI=0` builds without it. Expanded
# when used, so that a first `make` sees the mpicc that deps installed.
MPI_ON = $(if $(filter 0,$(MPI)),,$(shell command -v mpicc 2>/dev/null))
MPI_CFLAGS = $(if $(MPI_ON),-DOHEM_MPI $(shell mpicc --showme:compile))
MPI_LIBS = $(if $(MPI_ON),$(shell mpicc --showme:link))
FLAGS_STAMP := $(FLAGS_STAMP)$(if $(filter 0,$(MPI)),-nompi)

# libohem.a: the layers and the plugin glue a user's program links (before or after -ldarknet).
CORE_SRC = src/core/ohem.c src/core/rcnn.c src/core/roi_align.c src/core/iou_loss.c
CPU_SRC = src/cpu/pool.c src/cpu/coretype.c src/cpu/gemm.c src/cpu/sgemm.c src/cpu/im2col.c src/cpu/winograd.c \
	src/cpu/kernels.c src/cpu/plan.c
LAYERS_SRC = src/layers/roi_rows.c src/layers/ohem_layer.c src/layers/rpn_layer.c src/layers/roipool_layer.c src/layers/roi_loss_layer.c \
	src/layers/route_layer.c src/layers/yolo_layer.c
DARKNET_SRC = src/darknet/startup.c src/darknet/env.c src/darknet/cfg.c src/darknet/cfg_keys.c src/darknet/parser.c \
	src/darknet/parse_twostage.c src/darknet/parse_yolo.c src/darknet/network.c src/darknet/keep_delta.c src/darknet/net_augment.c \
	src/darknet/weights.c
LIB_SRC = $(CORE_SRC) $(CPU_SRC) $(LAYERS_SRC) $(DARKNET_SRC)
LIB_OBJ = $(LIB_SRC:.c=.o)
# ./darknet: the command line.
CLI_SRC = src/cli/augment.c src/cli/loader.c src/cli/darknet.c src/cli/train.c src/cli/data_check.c src/cli/detect.c src/cli/map.c src/cli/show.c \
	src/cli/dataset.c src/cli/dist.c src/cli/rng.c src/cli/train_state.c src/cli/chart.c src/cli/import.c \
	src/cli/import_voc.c src/cli/import_coco.c src/cli/files.c src/cli/mine.c src/cli/partial.c src/cli/prefetch.c
CLI_OBJ = $(CLI_SRC:.c=.o)
TESTS = tests/test_env tests/test_gemm tests/test_kernels tests/test_plan tests/test_twostage tests/test_ohem_roi tests/test_select tests/test_rcnn tests/test_roipool tests/test_layer \
	tests/test_parser tests/test_cfg_keys tests/test_alexeyab tests/test_yolo tests/test_darknet tests/test_map tests/test_augment tests/test_mine tests/test_prefetch tests/test_dataset tests/test_data_check tests/test_chart tests/example tests/mpi_equiv tests/opencv_dump
HEADERS = $(wildcard src/*/*.h bench/*.h)

.PHONY: all deps cfgs test demo compare compare-v4tiny compare-onestage bench memcheck fuzz clean
all: deps libohem.a darknet cfgs tests/example

# [ohem] versions of Debian's yolov3-tiny, yolov3 and yolov2-tiny cfgs, in cfg/.
cfgs: deps
	@scripts/make-cfgs.sh

deps:
	@scripts/install-deps.sh

# libohem.a is a linker script (as libc.so is): it asks for the parser and names
# libohem_core.a, the archive of the objects, beside it. So the plugin is linked
# whether libohem.a comes before or after -ldarknet; a plain archive after
# -ldarknet would be skipped, and the stock parser would run.
libohem.a: libohem_core.a
	printf '/* the [ohem] plugin: see README.md, "In your own program" */\nEXTERN(ohem_startup ohem_load_network)\nINPUT(libohem_core.a)\n' >$@

libohem_core.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

darknet: $(CLI_OBJ) libohem.a
	$(CC) $(LDFLAGS) -o $@.tmp $(CLI_OBJ) libohem.a $(LDLIBS) $(CLI_LIBS) $(MPI_LIBS)
	mv $@.tmp $@

$(LIB_OBJ) $(CLI_OBJ): | deps
# switching SANITIZE rebuilds everything
$(LIB_OBJ) $(CLI_OBJ) $(TESTS): $(FLAGS_STAMP)
$(FLAGS_STAMP):
	@rm -f .flags-*
	@touch $@

src/core/%.o: CFLAGS += $(INC_CORE)
src/cpu/%.o: CFLAGS += $(INC_CPU)
src/layers/%.o: CFLAGS += $(INC_LAYERS)
src/darknet/%.o: CFLAGS += $(INC_DARKNET)
src/cli/%.o: CFLAGS += $(INC_ALL)
src/cli/dist.o: CFLAGS += $(MPI_CFLAGS)
src/cli/chart.o: CFLAGS += $(CAIRO_CFLAGS)
src/cli/import_voc.o src/cli/import_coco.o: CFLAGS += $(IMPORT_CFLAGS)
tests/%: CFLAGS += $(INC_ALL)
bench/%: CFLAGS += $(INC_ALL)

# the mining core's NMS loop is written to vectorise
src/core/ohem.o: CFLAGS += -O3
# and RoIAlign's loops over channels and its transposes (unrolled)
src/core/roi_align.o: CFLAGS += -O3
# so are the kernels' loops (no trapping math lets a select vectorise; the results
# stay those of the source)
src/cpu/kernels.o: CFLAGS += -O3 -fno-trapping-math
# col2im's stride-1 rows are additions that vectorise
src/cpu/im2col.o: CFLAGS += -O3
# the gemm's packing loops; its kernel is intrinsics
src/cpu/sgemm.o: CFLAGS += -O3
# and the Winograd transforms' loops over tiles
src/cpu/winograd.o: CFLAGS += -O3

%.o: %.c $(HEADERS)
	$(CC) $(CFLAGS) -c -o $@ $<

tests/example: tests/example.c libohem.a
	$(CC) -I$(DARKNET_DIR)/include $(LDFLAGS) -o $@ $< libohem.a $(LDLIBS)

tests/test_dataset: tests/test_dataset.c src/cli/dataset.c src/cli/files.c libohem.a $(HEADERS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ tests/test_dataset.c src/cli/dataset.c src/cli/files.c libohem.a $(LDLIBS) $(CLI_LIBS) -lcmocka

# run under mpirun by tests/e2e_mpi.sh (not a tests/test_* program: run.sh runs those alone)
tests/mpi_equiv: tests/mpi_equiv.c src/cli/dist.o libohem.a $(HEADERS)
	$(CC) $(CFLAGS) $(MPI_CFLAGS) $(LDFLAGS) -o $@ tests/mpi_equiv.c src/cli/dist.o libohem.a \
		$(LDLIBS) $(CLI_LIBS) $(MPI_LIBS)

tests/test_data_check: tests/test_data_check.c src/cli/data_check.c libohem.a $(HEADERS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ tests/test_data_check.c src/cli/data_check.c libohem.a $(LDLIBS) -lcmocka
tests/test_chart: tests/test_chart.c src/cli/chart.c $(HEADERS)
	$(CC) $(CFLAGS) $(CAIRO_CFLAGS) $(LDFLAGS) -o $@ tests/test_chart.c src/cli/chart.c $(CAIRO_LIBS) -lm -lcmocka

tests/test_map: tests/test_map.c src/cli/map.c $(HEADERS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ tests/test_map.c src/cli/map.c $(LDLIBS) -lcmocka

tests/test_augment: tests/test_augment.c src/cli/augment.o libohem.a $(HEADERS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ tests/test_augment.c src/cli/augment.o libohem.a $(LDLIBS) -lcmocka

# ohem mine's pieces, with the command line's objects they use (not main, not MPI)
MINE_TEST_OBJ = src/cli/mine.o src/cli/detect.o src/cli/prefetch.o src/cli/loader.o src/cli/augment.o src/cli/map.o src/cli/show.o src/cli/data_check.o src/cli/files.o
tests/test_mine: tests/test_mine.c $(MINE_TEST_OBJ) libohem.a $(HEADERS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ tests/test_mine.c $(MINE_TEST_OBJ) libohem.a $(LDLIBS) $(CLI_LIBS) -lcmocka
# detection's loader thread and detector_evaluate, with the same objects
tests/test_prefetch: tests/test_prefetch.c $(MINE_TEST_OBJ) libohem.a $(HEADERS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ tests/test_prefetch.c $(MINE_TEST_OBJ) libohem.a $(LDLIBS) $(CLI_LIBS) -lcmocka

tests/%: tests/%.c libohem.a $(HEADERS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< libohem.a $(LDLIBS) -lcmocka -ldl

bench/dist_bench: bench/dist_bench.c src/cli/dist.o libohem.a $(HEADERS)
	$(CC) $(CFLAGS) $(MPI_CFLAGS) -O3 $(LDFLAGS) -o $@ bench/dist_bench.c src/cli/dist.o libohem.a \
		$(LDLIBS) $(CLI_LIBS) $(MPI_LIBS)

bench/bench: bench/bench.c libohem.a $(HEADERS)
	$(CC) $(CFLAGS) -O3 $(LDFLAGS) -o $@ bench/bench.c libohem.a $(LDLIBS)

bench/bench_twostage: bench/bench_twostage.c libohem.a $(HEADERS)
	$(CC) $(CFLAGS) -O3 $(LDFLAGS) -o $@ bench/bench_twostage.c libohem.a $(LDLIBS)

# RoIAlign and RoI max pooling per RoI (its own table).
bench/bench_roi: bench/bench_roi.c libohem.a $(HEADERS)
	$(CC) $(CFLAGS) -O3 $(LDFLAGS) -o $@ bench/bench_roi.c libohem.a $(LDLIBS)

# The data check before training on a generated list of tiny images (its own table).
bench/bench_infer: bench/bench_infer.c libohem.a $(HEADERS)
	$(CC) $(CFLAGS) -O3 $(LDFLAGS) -o $@ bench/bench_infer.c libohem.a $(LDLIBS)

bench/bench_data_check: bench/bench_data_check.c src/cli/data_check.c libohem.a $(HEADERS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ bench/bench_data_check.c src/cli/data_check.c libohem.a $(LDLIBS)

# Benchmarks: prints the table and writes it to bench/results.md; the RoI table,
# the two-stage step and the data check are appended to it. (python3-torch, for the
# PyTorch anchor, is installed here only.) Each line's exit status is the
# benchmark's own (no pipe hides it), so a failing benchmark fails make bench.
bench: all bench/bench bench/bench_roi bench/bench_twostage bench/bench_data_check bench/bench_infer bench/dist_bench
	@scripts/install-deps.sh bench
	bench/bench -o bench/results.md
	bench/bench_roi -a bench/results.md
	bench/bench_infer -a bench/results.md
	bench/bench_twostage cfg/fashion.cfg cfg/fashion-frcnn.cfg >bench/tmp-out.md
	@cat bench/tmp-out.md && cat bench/tmp-out.md >>bench/results.md
	@scripts/bench-twostage-cfgs.sh
	bench/bench_twostage bench/tmp-sampler-256.cfg bench/tmp-ohem-256.cfg bench/tmp-dense-256.cfg >bench/tmp-out.md
	@cat bench/tmp-out.md && cat bench/tmp-out.md >>bench/results.md
	bench/bench_data_check -n 100000 -seed 1 -a bench/results.md
	bench/dist_bench.sh bench/results-mpi.md

# Long-run memory check (not part of `make test`): the four fashion cfgs trained
# MEMCHECK_ITERS iterations each on 64x64 inputs, the resident size sampled every
# 100 iterations; fails when it varies by 1% or more after a warm-up of 300
# iterations (docs/performance.md, "Memory over a long run").
MEMCHECK_ITERS ?= 3000
memcheck: all
	scripts/memcheck.sh -iters $(MEMCHECK_ITERS)

# The main job: the data set, then the two-stage detector trained with Fast R-CNN's
# sampler and with [ohem] on its RoIs, side by side, one seed, and the comparison.
# `make compare`: the same pair over 3 seeds, then the one-stage rows (YOLO
# baseline, [ohem], the SSD-style setting, [ohem] rescaled to the unmined delta's
# norm), 3 seeds each. `make compare-onestage`: the earlier one-stage study (800 iterations, tuned settings).
TWO_STAGE = "sampler:cfg=cfg/fashion-frcnn.cfg ohem:cfg=cfg/fashion-frcnn-ohem.cfg"
ONE_STAGE = "baseline: ohem:per_image=64,nms=0.7 ssd:positives=keep,rank=obj,neg_pos_ratio=3,nms=1 rescaled:per_image=64,nms=0.7,rescale=norm"
# The YOLOv4-tiny-style study: its baseline, [ohem] with the paper's settings, [ohem]
# with the best one-stage setting found (docs/results/compare: 256 kept, no NMS), and
# AlexeyAB's focal_loss=1 instead of mining.
V4TINY = "baseline:cfg=cfg/fashion-v4tiny.cfg ohem:cfg=cfg/fashion-v4tiny-ohem.cfg \
	p256-nonms:cfg=cfg/fashion-v4tiny-ohem.cfg,per_image=256,nms=1 focal:cfg=cfg/fashion-v4tiny-focal.cfg"
demo: all
	REPORT_TITLE="[ohem] on RoIs against Fast R-CNN's sampler (two-stage) on the built-in fashion data set" \
		scripts/compare.sh -seeds 1 -iters 500 -map 100 -out report-demo -main $(TWO_STAGE)

compare: all
	REPORT_TITLE="[ohem] on RoIs against Fast R-CNN's sampler (two-stage) on the built-in fashion data set" \
		scripts/compare.sh -seeds "1 2 3" -iters 500 -map 100 -out report-twostage-ohem -main $(TWO_STAGE)
	REPORT_TITLE="One-stage [ohem] settings against the baseline on the built-in fashion data set" \
		scripts/compare.sh -seeds "1 2 3" -iters 500 -map 100 -out report-onestage -main $(ONE_STAGE)
	$(MAKE) compare-v4tiny

compare-v4tiny: all
	REPORT_TITLE="YOLOv4-tiny-style: [ohem] and focal loss against the baseline on the built-in fashion data set" \
		scripts/compare.sh -seeds "1 2 3" -iters 500 -map 100 -out report-v4tiny -main $(V4TINY)

compare-onestage: all
	scripts/compare.sh -seeds "1 2 3" -iters 800 -map 100 -out report \
		-variant "p256-nonms:per_image=256,nms=1" -variant "warmup400:warmup=400" -variant-seeds 1

# Fuzzing (libFuzzer, clang-14): each target for FUZZ_SECONDS from its seed corpus
# in tests/fuzz; new inputs go to tests/tmp/fuzz_*. The targets are built from the
# same source lists as libohem.a and ./darknet (every library source, and the CLI's
# sources less its main), so a change that breaks them breaks `make test` too.
FUZZ_SECONDS ?= 60
FUZZ_CC = clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -std=gnu11 \
	-I$(DARKNET_DIR)/include $(INC_ALL) $(CAIRO_CFLAGS) $(IMPORT_CFLAGS)
FUZZ_SRC = $(LIB_SRC) $(filter-out src/cli/darknet.c,$(CLI_SRC))
FUZZ = tests/fuzz/fuzz_cfg tests/fuzz/fuzz_labels
$(FUZZ): tests/fuzz/%: tests/fuzz/%.c $(FUZZ_SRC) $(HEADERS)
	$(FUZZ_CC) -o $@ $< $(FUZZ_SRC) $(LDLIBS) $(CLI_LIBS)
fuzz: deps $(FUZZ)
	scripts/fuzz.sh $(FUZZ_SECONDS)
# `make test` builds the fuzz targets (without running them) where clang-14 exists.
FUZZ_BUILD = $(if $(shell command -v clang-14 2>/dev/null),$(FUZZ))

test: all $(TESTS) $(FUZZ_BUILD)
	@SANITIZE=$(SANITIZE) tests/run.sh

clean:
	rm -f $(LIB_OBJ) $(CLI_OBJ) libohem.a libohem_core.a darknet $(TESTS) bench/bench bench/bench_roi bench/bench_twostage \
		bench/bench_data_check bench/bench_infer bench/dist_bench cfg/*-ohem.cfg.tmp $(FUZZ)
	rm -f cfg/yolov3-tiny-ohem.cfg cfg/yolov3-ohem.cfg cfg/yolov2-tiny-ohem.cfg cfg/yolov3-tiny-frcnn.cfg
	rm -rf tests/tmp bench/tmp-*
