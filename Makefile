# OHEM for Darknet. `make` builds libohem.a and ./darknet; `make test` runs every test.
CC ?= cc
DARKNET_DIR ?= /usr/lib/darknet
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -ffp-contract=off -I$(DARKNET_DIR)/include -Ilayers -Isrc
LDLIBS = -L$(DARKNET_DIR) -ldarknet -Wl,-rpath,$(DARKNET_DIR) -lopenblas -lm -pthread
CLI_LIBS = -lz
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
FLAGS_STAMP = .flags-sanitize
else
FLAGS_STAMP = .flags-plain
endif

LIB_SRC = layers/ohem.c layers/ohem_layer.c src/cfg.c src/parser.c src/blas.c src/resize.c src/im2col.c src/weights.c
LIB_OBJ = $(LIB_SRC:.c=.o)
CLI_SRC = src/darknet.c src/train.c src/data_check.c src/detect.c src/map.c src/show.c src/dataset.c
CLI_OBJ = $(CLI_SRC:.c=.o)
TESTS = tests/test_select tests/test_layer tests/test_parser tests/test_darknet tests/test_map tests/test_dataset tests/example
HEADERS = $(wildcard layers/*.h src/*.h)

.PHONY: all deps cfgs test demo compare bench fuzz clean
all: deps libohem.a darknet cfgs

# [ohem] versions of Debian's yolov3-tiny, yolov3 and yolov2-tiny cfgs, in cfg/.
cfgs: deps
	@scripts/make-cfgs.sh

deps:
	@scripts/install-deps.sh

libohem.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

darknet: $(CLI_OBJ) libohem.a
	$(CC) $(LDFLAGS) -o $@.tmp $(CLI_OBJ) libohem.a $(LDLIBS) $(CLI_LIBS)
	mv $@.tmp $@

$(LIB_OBJ) $(CLI_OBJ): | deps
# switching SANITIZE rebuilds everything
$(LIB_OBJ) $(CLI_OBJ) $(TESTS): $(FLAGS_STAMP)
$(FLAGS_STAMP):
	@rm -f .flags-*
	@touch $@

# the mining core's NMS loop is written to vectorise
layers/ohem.o: CFLAGS += -O3

%.o: %.c $(HEADERS)
	$(CC) $(CFLAGS) -c -o $@ $<

tests/example: tests/example.c libohem.a
	$(CC) -I$(DARKNET_DIR)/include $(LDFLAGS) -o $@ $< libohem.a $(LDLIBS)

tests/test_dataset: tests/test_dataset.c src/dataset.c libohem.a $(HEADERS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ tests/test_dataset.c src/dataset.c libohem.a $(LDLIBS) $(CLI_LIBS) -lcmocka

tests/test_map: tests/test_map.c src/map.c $(HEADERS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ tests/test_map.c src/map.c $(LDLIBS) -lcmocka

tests/%: tests/%.c libohem.a $(HEADERS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< libohem.a $(LDLIBS) -lcmocka -ldl

bench/bench: bench/bench.c libohem.a $(HEADERS)
	$(CC) $(CFLAGS) -O3 $(LDFLAGS) -o $@ bench/bench.c libohem.a $(LDLIBS)

# Benchmarks: prints the table and writes it to bench/results.md.
bench: all bench/bench
	bench/bench -o bench/results.md

# The main job: data set, both variants side by side, the comparison (under 10 min
# on 2 cores). `make compare`: 3 seeds, a longer schedule, and two tuned [ohem]
# settings (one seed each); about 55 min on 2 cores.
demo: all
	scripts/compare.sh -seeds 1 -iters 500 -map 100 -out report-demo

compare: all
	scripts/compare.sh -seeds "1 2 3" -iters 800 -map 100 -out report \
		-variant "p256-nonms:per_image=256,nms=1" -variant "warmup400:warmup=400" -variant-seeds 1

# Fuzzing (libFuzzer, clang-14): each target for FUZZ_SECONDS from its seed corpus
# in tests/fuzz; new inputs go to tests/tmp/fuzz_*.
FUZZ_SECONDS ?= 60
FUZZ_CC = clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -std=gnu11 -I$(DARKNET_DIR)/include -Ilayers -Isrc
tests/fuzz/fuzz_cfg: tests/fuzz/fuzz_cfg.c src/cfg.c src/parser.c layers/ohem_layer.c layers/ohem.c src/blas.c src/resize.c src/im2col.c src/weights.c $(HEADERS)
	$(FUZZ_CC) -o $@ tests/fuzz/fuzz_cfg.c src/cfg.c src/parser.c layers/ohem_layer.c layers/ohem.c src/blas.c src/resize.c src/im2col.c src/weights.c $(LDLIBS)
tests/fuzz/fuzz_labels: tests/fuzz/fuzz_labels.c src/data_check.c $(HEADERS)
	$(FUZZ_CC) -o $@ tests/fuzz/fuzz_labels.c src/data_check.c $(LDLIBS)
fuzz: deps tests/fuzz/fuzz_cfg tests/fuzz/fuzz_labels
	scripts/fuzz.sh $(FUZZ_SECONDS)

test: all $(TESTS)
	@SANITIZE=$(SANITIZE) tests/run.sh

clean:
	rm -f $(LIB_OBJ) $(CLI_OBJ) libohem.a darknet $(TESTS) bench/bench bench/tmp-* cfg/*-ohem.cfg.tmp tests/fuzz/fuzz_cfg tests/fuzz/fuzz_labels
	rm -f cfg/yolov3-tiny-ohem.cfg cfg/yolov3-ohem.cfg cfg/yolov2-tiny-ohem.cfg
	rm -rf tests/tmp
