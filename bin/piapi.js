#!/usr/bin/env node
import '../dist/cli/piapi.js';
