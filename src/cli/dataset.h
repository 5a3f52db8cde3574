/* dataset.h: a deterministic detection data set built from Fashion-MNIST.
 *
 * Each scene is a size x size RGB image: a textured background, then 1 to 5 items,
 * each a Fashion-MNIST picture tinted with a random colour and alpha-blended with its
 * own intensity as mask. Three classes are labelled (0 tshirt, 1 sneaker, 2 pullover);
 * their look-alikes (shirt, sandal, coat), other items, partial items and noise blobs
 * are pasted as unlabelled distractors. Output is in Darknet's layout:
 *   OUTDIR/images/{train,valid}_NNNNN.png, OUTDIR/labels/{train,valid}_NNNNN.txt,
 *   OUTDIR/train.txt, OUTDIR/valid.txt, OUTDIR/fashion.names, OUTDIR/fashion.data.
 * Every byte written is a function of the options alone. */
#ifndef OHEM_DATASET_H
#define OHEM_DATASET_H

/* Where the Debian package dataset-fashion-mnist installs the IDX files. */
#define DATASET_MNIST_DIR "/usr/share/datasets/fashion-mnist"
#define DATASET_CLASSES 3

typedef struct {
    const char *out_dir;   /* created with its parents when missing */
    int train, valid;      /* scene counts, 1..1000000 */
    int size;              /* scene side in pixels, 32..2048 */
    unsigned seed;         /* everything generated is a pure function of it */
    const char *mnist_dir; /* holds {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz */
    int quiet;             /* no progress on stderr */
} dataset_options;

/* Defaults: out_dir NULL, train 3000, valid 500, size 128, seed 1, the Debian path. */
void dataset_options_default(dataset_options *o);

/* Writes the data set described by o. Returns 0, or -1 after printing an error that
 * names the file and the reason. Never exits. */
int dataset_generate(const dataset_options *o);

/* `ohem dataset` with argv after the command word:
 *   OUTDIR [-train N] [-valid N] [-size S] [-seed N] [-quiet]
 * Returns an exit status: 0 done, 1 bad input or I/O error, 2 usage error (usage
 * printed to stderr). */
int dataset_main(int argc, char **argv);

#endif
