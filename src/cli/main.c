/* fpentropy command-line tool (placeholder while the driver is written).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>
int main(void)
{
  puts("fpentropy " FP_VERSION);
  return 0;
}
