#include "darknet.h"
int main(int argc, char **argv) {
    network *net = load_network(argv[1], argc > 2 ? argv[2] : 0, 0);
    printf("%d layers, %d outputs\n", net->n, net->outputs);
    free_network(net);
}
