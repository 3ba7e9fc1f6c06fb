# Turn a data file into a C array: -DIN=file -DOUT=file.c -DSYM=name
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" hexlen)
math(EXPR len "${hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
file(WRITE ${OUT} "/* generated from ${IN}; do not edit */\n#include <stddef.h>\nconst unsigned char ${SYM}[] = {${body}0x00};\nconst size_t ${SYM}_len = ${len};\n")
