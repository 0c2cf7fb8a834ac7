import type { GatewayConfig } from '../config/gateway-config.js';
import { ConversationLog } from './conversation-log.js';

const DEFAULT_FILE = 'piapi-conversations.jsonl';

/**
 * The conversation log of the current config (`logging.conversation`). Reopened for a new config
 * snapshot, so the provider keys it masks follow the config.
 */
export class ConversationLogs {
  private current: { config: GatewayConfig; log: ConversationLog } | undefined;

  for(config: GatewayConfig): ConversationLog | undefined {
    const settings = config.logging;
    if (!settings.conversation) return undefined;
    if (this.current?.config !== config) {
      void this.current?.log.close();
      const secrets: string[] = [];
      for (const provider of config.providers.values()) {
        for (const key of provider.apiKeys.values()) if (key.kind === 'static') secrets.push(key.value);
      }
      const log = new ConversationLog({ file: settings.conversationFile ?? DEFAULT_FILE, maxQueueSize: settings.maxQueueSize, secrets });
      this.current = { config, log };
    }
    return this.current.log;
  }

  async close(): Promise<void> {
    await this.current?.log.close();
  }
}
