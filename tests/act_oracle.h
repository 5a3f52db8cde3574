/* act_oracle.h: AlexeyAB's activations in double, the oracle that test_alexeyab
 * and test_kernels hold the kernels' mish, swish, hard_mish and relu6 against
 * (mish's softplus without his threshold at 20, which moves it by less than
 * exp(-20)). */
#ifndef OHEM_TEST_ACT_ORACLE_H
#define OHEM_TEST_ACT_ORACLE_H

#include <math.h>

#include "kernels.h"

static inline double act_double(int act, double x)
{
    switch (act) {
    case OHEM_MISH: return x * tanh(log1p(exp(x)));
    case OHEM_SWISH: return x / (1 + exp(-x));
    case OHEM_HARD_MISH: return x > 0 ? x : x > -2 ? x * x / 2 + x : 0;
    case OHEM_RELU6: return x < 0 ? 0 : x > 6 ? 6 : x;
    }
    return NAN;
}

#endif
